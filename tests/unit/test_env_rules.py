"""The Noisy T-Maze obeys docs/design.md §3 step by step."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs import NoisyTMaze


def run_episode(env: NoisyTMaze, seed: int, actions=None):
    """Plays one episode; returns stacked obs (seen before acting), rewards and the last info."""
    obs, info = env.reset(seed=seed)
    observations, rewards = [obs], []
    t = 0
    while True:
        action = 0 if actions is None else actions[t]
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert not truncated
        if terminated:
            return np.array(observations), np.array(rewards), obs, info
        observations.append(obs)
        t += 1


def test_registered_and_passes_gymnasium_checker():
    env = gym.make(envs.ENV_ID, corridor_length=5)
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, NoisyTMaze)


@pytest.mark.parametrize("seed", range(20))
def test_cue_only_at_step_zero_and_junction_only_at_last_step(seed):
    env = NoisyTMaze(corridor_length=7, length_jitter=3)
    obs, rewards, final_obs, _ = run_episode(env, seed)
    length = env.episode_length
    assert len(obs) == length and 7 <= length <= 10
    assert obs[0, 0] in (-1.0, 1.0)
    assert np.all(obs[1:, 0] == 0)
    assert np.flatnonzero(obs[:, 1]).tolist() == [length - 1]
    assert set(np.unique(obs[:, 2])) <= {-1.0, 1.0}
    assert np.all(final_obs == 0)
    assert np.all(rewards[:-1] == 0)


def test_reward_names_the_cue_side_at_the_junction_only():
    env = NoisyTMaze(corridor_length=4, length_jitter=0)
    for seed in range(30):
        env.reset(seed=seed)
        correct = env.cue_side
        obs, rewards, _, info = run_episode(env, seed, actions=[1 - correct] * 3 + [correct])
        assert rewards.tolist() == [0.0, 0.0, 0.0, 4.0] and info["success"] is True
        obs, rewards, _, info = run_episode(env, seed, actions=[correct] * 3 + [1 - correct])
        assert rewards.tolist() == [0.0, 0.0, 0.0, -3.0] and info["success"] is False
        cue = 1.0 if correct == 1 else -1.0
        assert obs[0, 0] == cue


def test_single_step_maze_has_cue_and_junction_together():
    env = NoisyTMaze(corridor_length=1, length_jitter=0, noise=False)
    obs, _ = env.reset(seed=3)
    assert obs[1] == 1.0 and obs[0] in (-1.0, 1.0) and obs[2] == 0.0
    _, reward, terminated, _, info = env.step(env.cue_side)
    assert terminated and reward == 4.0 and info["success"]


def test_cue_is_unbiased_and_jitter_reaches_every_length():
    env = NoisyTMaze(corridor_length=3, length_jitter=4)
    sides, lengths = [], []
    for seed in range(4000):
        env.reset(seed=seed)
        sides.append(env.cue_side)
        lengths.append(env.episode_length)
    # Binomial(4000, 1/2): 5 standard deviations is about 158.
    assert abs(sum(sides) - 2000) < 160
    counts = np.bincount(lengths)[3:]
    assert len(counts) == 5 and counts.min() > 600  # each of 3..7 about 800 times


def test_noise_is_plus_minus_one_and_balanced_and_off_when_disabled():
    env = NoisyTMaze(corridor_length=2000, length_jitter=0)
    obs, *_ = run_episode(env, seed=1)
    assert set(np.unique(obs[:, 2])) == {-1.0, 1.0}
    assert abs(obs[:, 2].mean()) < 0.1
    quiet = NoisyTMaze(corridor_length=50, noise=False)
    obs, *_ = run_episode(quiet, seed=1)
    assert np.all(obs[:, 2] == 0)


def test_seeds_reproduce_episodes_and_differ_across_seeds():
    a, b = NoisyTMaze(corridor_length=30), NoisyTMaze(corridor_length=30)
    first, _, _, _ = run_episode(a, seed=11)
    again, _, _, _ = run_episode(b, seed=11)
    other, _, _, _ = run_episode(b, seed=12)
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_episode_seed_option_replays_an_episode():
    env = NoisyTMaze(corridor_length=20)
    _, info = env.reset(seed=5)
    recorded = env.episode_length, env.cue_side
    first, _, _, _ = run_episode(env, seed=5)
    env.reset(options={"episode_seed": info["episode_seed"]})
    assert (env.episode_length, env.cue_side) == recorded
    replay = [env._observation()]  # the reset observation, then the rest of the episode
    while True:
        obs, _, terminated, _, _ = env.step(0)
        if terminated:
            break
        replay.append(obs)
    np.testing.assert_array_equal(first, np.array(replay))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"corridor_length": 0}, "corridor_length"),
        ({"corridor_length": 2.5}, "corridor_length"),
        ({"corridor_length": True}, "corridor_length"),
        ({"corridor_length": 5, "length_jitter": -1}, "length_jitter"),
        ({"corridor_length": 5, "length_jitter": 1.0}, "length_jitter"),
        ({"corridor_length": 5, "success_reward": float("nan")}, "success_reward"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        NoisyTMaze(**kwargs)


def test_step_after_termination_and_bad_actions_are_refused():
    env = NoisyTMaze(corridor_length=1, length_jitter=0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(2)
    env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
