"""`BatchedEnvRunner` (learner.impala.inputs.batched_runner) returns what RLlib's
`SingleAgentEnvRunner` returns with the same connectors, module and seeds: the same episode
chunks, step for step, with exploration on, on a short T-Maze whose episodes end mid-sample
and get cut at every sample's end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO

from envs import tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.inputs.batched_runner import BatchedEnvRunner
from learner.impala.algo_config import build_impala_config
from policies import random_memory_settings

TMAZE = tmaze_spec(6, length_jitter=2)
IMPALA = ImpalaConfig(num_envs_per_env_runner=8, rollout_fragment_length=5, max_seq_len=6,
                      train_batch_size_per_learner=40, minibatch_size=40,
                      explore_repeat_prob=0.2, explore_repeat_exponent=1.5)


@pytest.fixture()
def model_config(tmp_path: Path) -> dict:
    return random_memory_settings(tmp_path, IMPALA)


def sampled(runner_cls: type, model_config: dict, weights: dict | None,
            calls: list[tuple[str, bool]]) -> tuple[list, dict]:
    """Chunks of `calls` ("timesteps"/"episodes", explore) from a fresh runner and its
    module's weights; numpy's global RNG (the connectors' sampling) seeded alike."""
    config = build_impala_config(TMAZE, IMPALA, model_config)
    runner = runner_cls(config=config)
    try:
        if weights is not None:
            runner.module.load_state_dict(weights)
        np.random.seed(0)
        chunks = []
        for mode, explore in calls:
            if mode == "episodes":
                chunks += runner.sample(num_episodes=3, explore=explore)
            else:
                chunks += runner.sample(explore=explore)
        return chunks, runner.module.state_dict()
    finally:
        runner.stop()


def assert_same_buffer(a, b) -> None:
    """Same data, lookback included (the learner reads STATE_IN from the lookback)."""
    assert a.lookback == b.lookback and a.finalized == b.finalized
    if isinstance(a.data, dict):
        assert set(a.data) == set(b.data)
        for key in a.data:
            np.testing.assert_array_equal(a.data[key], b.data[key])
    elif isinstance(a.data, list):
        assert a.data == b.data
    else:
        assert a.data.dtype == b.data.dtype
        np.testing.assert_array_equal(a.data, b.data)


def assert_same_chunks(ours: list, theirs: list) -> None:
    assert [(e.t_started, len(e), e.is_terminated, e.is_truncated) for e in ours] == \
        [(e.t_started, len(e), e.is_terminated, e.is_truncated) for e in theirs]
    for a, b in zip(ours, theirs):
        assert a.is_numpy and b.is_numpy
        assert a.custom_data == b.custom_data
        for column in ("observations", "actions", "rewards", "infos"):
            assert_same_buffer(getattr(a, column), getattr(b, column))
        assert set(a.extra_model_outputs) == set(b.extra_model_outputs) >= {
            Columns.ACTION_LOGP, Columns.STATE_OUT, WEIGHTS_SEQ_NO}
        for key in a.extra_model_outputs:
            assert_same_buffer(a.extra_model_outputs[key], b.extra_model_outputs[key])


def test_the_batched_runner_returns_rllibs_chunks_step_for_step(ray_local,
                                                                model_config: dict) -> None:
    calls = [("timesteps", True)] * 6 + [("timesteps", False)] * 2 + [("timesteps", True)] * 2
    theirs, weights = sampled(SingleAgentEnvRunner, model_config, None, calls)
    ours, _ = sampled(BatchedEnvRunner, model_config, weights, calls)
    # The T-Maze's episodes (6-8 steps) end inside samples of 5 steps: both kinds of chunk.
    assert any(e.is_done for e in ours) and any(e.t_started > 0 for e in ours)
    assert any(e.t_started > 0 and e.is_done for e in ours)
    assert_same_chunks(ours, theirs)


def test_whole_episode_samples_take_rllibs_path_and_chunks_resume_after(
        ray_local, model_config: dict) -> None:
    calls = [("timesteps", True), ("episodes", True), ("timesteps", True), ("timesteps", True)]
    theirs, weights = sampled(SingleAgentEnvRunner, model_config, None, calls)
    ours, _ = sampled(BatchedEnvRunner, model_config, weights, calls)
    assert_same_chunks(ours, theirs)


def test_the_episode_metrics_count_every_step(ray_local, model_config: dict) -> None:
    runner = BatchedEnvRunner(config=build_impala_config(TMAZE, IMPALA, model_config))
    try:
        chunks = [e for _ in range(4) for e in runner.sample(explore=True)]
        metrics = runner.get_metrics()
    finally:
        runner.stop()
    # At least a fragment per sub-env per sample (RLlib's rule: the last vector step may
    # overshoot by up to the number of sub-envs).
    assert metrics["num_env_steps_sampled"] == sum(len(e) for e in chunks) >= 4 * 40
    assert metrics["num_episodes"] == sum(e.is_done for e in chunks) > 0
    assert 6 <= metrics["episode_len_mean"] <= 8  # whole episodes, their earlier chunks too


class StepCounter(RLlibCallback):
    def on_episode_step(self, **kwargs) -> None:
        pass


def test_a_callback_on_every_step_is_refused_with_the_way_out(ray_local,
                                                              model_config: dict) -> None:
    config = build_impala_config(TMAZE, IMPALA, model_config).callbacks(StepCounter)
    with pytest.raises(ValueError, match="batched_env_runner: false"):
        BatchedEnvRunner(config=config)
