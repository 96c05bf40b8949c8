"""Phase II on an env that is not the T-Maze: RLlib's env factory and held-out evaluation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from envs import EnvConfig, NoisyTMazeVectorEnv, describe_env, make_env, tmaze_spec
from envs.agent_inputs import PrevActionReward
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from learner.impala.evaluation.held_out import (
    greedy_evaluate,
    held_out_seeds,
    sampled_evaluate,
    sampled_metrics,
)
from learner.impala.training import counts_for_mmer
from policies import remembering, small_policy

pytest.importorskip("popgym")

REPEAT_FIRST = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",)))
OBS_DIM, NUM_ACTIONS, HORIZON = 4, 4, 51
EPISODES, SEED = 24, 7


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    return small_policy(REPEAT_FIRST, hidden_size=8, head_hiddens=(8,), encoder_size=4)


def test_factory_builds_the_popgym_vector_env_with_agent_inputs() -> None:
    vector = make_agent_env(rllib_env_config(REPEAT_FIRST) | {"num_envs": 5})
    x, _ = vector.reset(seed=3)
    assert x.shape == (5, OBS_DIM + NUM_ACTIONS + 1) and x.dtype == np.float32
    assert vector.single_observation_space.shape == (OBS_DIM + NUM_ACTIONS + 1,)
    x, *_ = vector.step(np.array([0, 1, 2, 3, 0]))
    assert np.array_equal(x[:, OBS_DIM:OBS_DIM + NUM_ACTIONS].argmax(1), [0, 1, 2, 3, 0])
    single = make_agent_env(rllib_env_config(REPEAT_FIRST))
    assert isinstance(single, PrevActionReward)
    assert single.observation_space.shape == (OBS_DIM + NUM_ACTIONS + 1,)


def test_factory_keeps_the_numpy_tmaze() -> None:
    vector = make_agent_env(rllib_env_config(tmaze_spec(20)) | {"num_envs": 4})
    assert isinstance(vector.env, NoisyTMazeVectorEnv)
    assert vector.single_observation_space.shape == (6,)


def test_factory_imports_the_env_modules_in_a_fresh_process() -> None:
    # What an EnvRunner process does: it receives the spec, nothing of the env imported yet.
    code = ("import sys; from envs import EnvConfig, EnvSpec; "
            "from learner.impala.inputs.env import make_agent_env; "
            f"env_config = {rllib_env_config(REPEAT_FIRST)!r} | {{'num_envs': 2}}; "
            "assert 'popgym' not in sys.modules; "
            "print(make_agent_env(env_config).reset(seed=0)[0].shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("(2, 9)")


def test_greedy_evaluation_runs_every_held_out_episode_to_its_end(policy) -> None:
    result = greedy_evaluate(policy, REPEAT_FIRST, EPISODES, SEED)
    assert result.episodes == EPISODES
    assert 0 < result.env_steps <= EPISODES * HORIZON
    assert -1.0 <= result.mean_return <= 1.0  # RepeatFirst's per-step reward is ±1/(cards-1)
    assert 0.0 <= result.success_rate <= 1.0
    assert result == greedy_evaluate(policy, REPEAT_FIRST, EPISODES, SEED)
    assert result.mean_return == pytest.approx(_one_at_a_time(policy, EPISODES, SEED))


def test_sampled_evaluation_is_seeded_and_differs_from_greedy(policy) -> None:
    sampled = sampled_evaluate(policy, REPEAT_FIRST, EPISODES, SEED)
    assert sampled.episodes == EPISODES and 0 < sampled.env_steps <= EPISODES * HORIZON
    assert -1.0 <= sampled.mean_return <= 1.0
    assert sampled == sampled_evaluate(policy, REPEAT_FIRST, EPISODES, SEED)
    assert sampled != greedy_evaluate(policy, REPEAT_FIRST, EPISODES, SEED)
    assert sampled_metrics(sampled)["impala/sampled_mean_return"] == sampled.mean_return


def test_sampled_tmaze_policy_that_remembers_still_succeeds() -> None:
    tmaze = tmaze_spec(10, length_jitter=2)
    result = sampled_evaluate(remembering(small_policy(tmaze)), tmaze, 200, SEED)
    assert result.success_rate >= 0.99  # logits differ by 10: a wrong turn has p = 4.5e-5


@torch.no_grad()
def _one_at_a_time(policy, episodes: int, seed: int) -> float:
    """Mean greedy return from single envs reset with each held-out seed: the reference the
    batched, autoresetting vector env must agree with."""
    returns = []
    for episode_seed in held_out_seeds(seed, episodes):
        env = PrevActionReward(make_env(REPEAT_FIRST))
        x, _ = env.reset(seed=int(episode_seed))
        state = {k: torch.as_tensor(v[None]) for k, v in policy.get_initial_state().items()}
        total, done = 0.0, False
        while not done:
            out = policy.forward_inference({Columns.OBS: torch.as_tensor(x)[None, None],
                                            Columns.STATE_IN: state})
            state = out[Columns.STATE_OUT]
            action = int(out[Columns.ACTION_DIST_INPUTS][0, 0].argmax())
            x, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def test_training_returns_enter_mmer_only_over_a_full_smoothing_window() -> None:
    assert not counts_for_mmer(episodes_ended=3, smoothing_window=100)
    assert not counts_for_mmer(episodes_ended=99, smoothing_window=100)
    assert counts_for_mmer(episodes_ended=100, smoothing_window=100)
