"""The lean EnvRunner connectors (learner.impala.inputs.connectors) against RLlib's default pipelines
and against the module's own forward pass, on a short T-Maze whose episodes end and get cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from envs import tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.inputs.connectors import BatchAgentInputs, SampleActions
from learner.impala.algo_config import build_impala_config
from policies import random_memory_settings

TMAZE = tmaze_spec(6, length_jitter=2)
IMPALA = ImpalaConfig(num_envs_per_env_runner=8, rollout_fragment_length=5, max_seq_len=6,
                      train_batch_size_per_learner=40, minibatch_size=40)


@pytest.fixture()
def model_config(tmp_path: Path) -> dict:
    return random_memory_settings(tmp_path, IMPALA)


def env_runner(model_config: dict, *, lean: bool) -> SingleAgentEnvRunner:
    config = build_impala_config(TMAZE, IMPALA, model_config, lean_connectors=lean)
    return SingleAgentEnvRunner(config=config)


def chunks(runner: SingleAgentEnvRunner, samples: int, explore: bool) -> list:
    return [episode for _ in range(samples) for episode in runner.sample(explore=explore)]


def test_the_lean_runner_uses_the_lean_pipelines(ray_local, model_config: dict) -> None:
    runner = env_runner(model_config, lean=True)
    try:
        assert [type(c) for c in runner._env_to_module.connectors] == [BatchAgentInputs]
        assert [type(c) for c in runner._module_to_env.connectors] == [SampleActions]
    finally:
        runner.stop()


def test_greedy_episodes_match_rllibs_default_connectors(ray_local, model_config: dict) -> None:
    lean, default = env_runner(model_config, lean=True), env_runner(model_config, lean=False)
    try:
        lean.module.load_state_dict(default.module.state_dict())
        # Several samples: episodes end (resets mid-sample) and ongoing ones are cut.
        ours, theirs = chunks(lean, 6, explore=False), chunks(default, 6, explore=False)
    finally:
        lean.stop()
        default.stop()
    assert any(e.is_done for e in ours) and any(e.t_started > 0 for e in ours)
    assert [(e.t_started, len(e), e.is_done) for e in ours] == \
        [(e.t_started, len(e), e.is_done) for e in theirs]
    for a, b in zip(ours, theirs):
        # RLlib's default also stores the logits, which IMPALA's loss recomputes anyway.
        assert set(a.extra_model_outputs) == set(b.extra_model_outputs) - {
            Columns.ACTION_DIST_INPUTS}
        np.testing.assert_array_equal(a.get_observations(), b.get_observations())
        np.testing.assert_array_equal(a.get_actions(), b.get_actions())
        np.testing.assert_array_equal(a.get_rewards(), b.get_rewards())
        for key in ("h", "c"):
            ours_state = a.get_extra_model_outputs(Columns.STATE_OUT)[key]
            np.testing.assert_allclose(ours_state, b.get_extra_model_outputs(
                Columns.STATE_OUT)[key], atol=1e-6)
            # The state a continuation chunk starts from (what the learner's STATE_IN reads).
            if a.t_started > 0:
                np.testing.assert_allclose(
                    a.get_extra_model_outputs(Columns.STATE_OUT, -1,
                                              neg_index_as_lookback=True)[key],
                    b.get_extra_model_outputs(Columns.STATE_OUT, -1,
                                              neg_index_as_lookback=True)[key], atol=1e-6)


@torch.no_grad()
def test_sampled_logp_and_states_agree_with_the_modules_own_forward(
    ray_local, model_config: dict
) -> None:
    runner = env_runner(model_config, lean=True)
    try:
        episodes = chunks(runner, 6, explore=True)
        module = runner.module
        for episode in episodes:
            state = {key: torch.zeros(1, 16) for key in ("h", "c")}
            if episode.t_started > 0:
                start = episode.get_extra_model_outputs(Columns.STATE_OUT, -1,
                                                        neg_index_as_lookback=True)
                state = {key: torch.as_tensor(start[key])[None] for key in state}
            observations = episode.get_observations()
            actions = episode.get_actions()
            logp = episode.get_extra_model_outputs(Columns.ACTION_LOGP)
            states = episode.get_extra_model_outputs(Columns.STATE_OUT)
            for t in range(len(episode)):
                out = module.forward_inference({
                    Columns.OBS: torch.as_tensor(observations[t])[None, None],
                    Columns.STATE_IN: state})
                log_probs = torch.log_softmax(out[Columns.ACTION_DIST_INPUTS][0, 0], -1)
                assert logp[t] == pytest.approx(float(log_probs[actions[t]]), abs=1e-5)
                state = out[Columns.STATE_OUT]
                for key in state:
                    np.testing.assert_allclose(states[key][t], state[key][0].numpy(),
                                               atol=1e-5)
    finally:
        runner.stop()


def test_sampled_actions_follow_the_softmax_of_the_logits() -> None:
    logits = torch.tensor([[0.0, 1.0, -1.0]]).repeat(20_000, 1)[:, None]
    state = {"h": torch.zeros(20_000, 4), "c": torch.ones(20_000, 4)}
    np.random.seed(0)
    out = SampleActions()(rl_module=None, batch={Columns.ACTION_DIST_INPUTS: logits,
                                                   Columns.STATE_OUT: state},
                          episodes=[], explore=True, shared_data={})
    probs = torch.softmax(logits[0, 0], -1).numpy()
    frequencies = np.bincount(out[Columns.ACTIONS], minlength=3) / 20_000
    np.testing.assert_allclose(frequencies, probs, atol=0.015)
    np.testing.assert_allclose(out[Columns.ACTION_LOGP], np.log(probs)[out[Columns.ACTIONS]],
                               rtol=1e-5)
    assert out[Columns.STATE_OUT][7]["c"].tolist() == [1.0] * 4
    greedy = SampleActions()(rl_module=None, batch={Columns.ACTION_DIST_INPUTS: logits,
                                                      Columns.STATE_OUT: state},
                             episodes=[], explore=False, shared_data=None)
    assert (greedy[Columns.ACTIONS] == 1).all()


def test_exploring_runners_hold_random_actions_and_report_their_behaviour(
        ray_local, model_config: dict) -> None:
    """impala.explore_repeat_prob reaches the EnvRunner's connector: sampled episodes hold
    actions for runs and record log μ (0 inside a run); greedy episodes do not explore."""
    impala = IMPALA.__class__(**{**IMPALA.__dict__, "explore_repeat_prob": 0.5,
                                 "explore_repeat_exponent": 1.1})
    config = build_impala_config(TMAZE, impala, model_config)
    runner = SingleAgentEnvRunner(config=config)
    try:
        episodes = chunks(runner, 6, explore=True)
        logp = np.concatenate([e.get_extra_model_outputs(Columns.ACTION_LOGP)
                               for e in episodes])
        assert (logp == 0.0).mean() > 0.2  # held steps: the behaviour's action is certain
        greedy = chunks(runner, 2, explore=False)
        greedy_logp = np.concatenate([e.get_extra_model_outputs(Columns.ACTION_LOGP)
                                      for e in greedy])
        assert (greedy_logp < 0).all()
    finally:
        runner.stop()
