"""The vector env: every sub-env follows the single env's rules, with next-step autoreset."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import envs
from envs import NoisyTMaze, NoisyTMazeVectorEnv


def collect_vector_episodes(vec: NoisyTMazeVectorEnv, steps: int, seed: int):
    """Plays random actions; returns finished episodes as (episode_seed, obs, actions, rewards)."""
    rng = np.random.default_rng(seed)
    obs, _ = vec.reset(seed=seed)
    buffers = [([], [], []) for _ in range(vec.num_envs)]
    seeds = vec.episode_seeds.copy()
    restarting = np.zeros(vec.num_envs, bool)
    finished = []
    for _ in range(steps):
        actions = rng.integers(0, 2, vec.num_envs)
        next_obs, rewards, terminated, truncated, infos = vec.step(actions)
        assert not truncated.any()
        for i in range(vec.num_envs):
            if restarting[i]:
                assert rewards[i] == 0 and not terminated[i]
                seeds[i] = vec.episode_seeds[i]
                buffers[i] = ([], [], [])
                continue
            o, a, r = buffers[i]
            o.append(obs[i]), a.append(actions[i]), r.append(rewards[i])
            if terminated[i]:
                assert np.all(next_obs[i] == 0)
                assert infos["_success"][i] and infos["success"][i] == (rewards[i] > 0)
                finished.append((int(seeds[i]), np.array(o), np.array(a), np.array(r)))
        restarting = terminated
        obs = next_obs
    return finished


def replay_single(episode_seed: int, actions: np.ndarray, **kwargs):
    env = NoisyTMaze(**kwargs)
    obs, _ = env.reset(options={"episode_seed": episode_seed})
    observations, rewards = [], []
    for action in actions:
        observations.append(obs)
        obs, reward, terminated, _, _ = env.step(int(action))
        rewards.append(reward)
    assert terminated
    return np.array(observations), np.array(rewards, np.float32)


def test_declares_next_step_autoreset_and_registers_vector_entry_point():
    assert NoisyTMazeVectorEnv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    vec = gym.make_vec(envs.ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                       corridor_length=4)
    assert isinstance(vec.unwrapped, NoisyTMazeVectorEnv) and vec.num_envs == 3


@pytest.mark.parametrize("noise", [True, False])
def test_sub_envs_are_bit_identical_to_the_single_env(noise):
    kwargs = dict(corridor_length=5, length_jitter=4, noise=noise, success_reward=2.5,
                  failure_reward=-1.0)
    vec = NoisyTMazeVectorEnv(16, **kwargs)
    episodes = collect_vector_episodes(vec, steps=200, seed=3)
    assert len(episodes) > 150
    for episode_seed, obs, actions, rewards in episodes:
        single_obs, single_rewards = replay_single(episode_seed, actions, **kwargs)
        np.testing.assert_array_equal(obs, single_obs)
        np.testing.assert_array_equal(rewards, single_rewards)


def test_lengths_cover_the_jitter_and_cues_are_balanced():
    vec = NoisyTMazeVectorEnv(4096, corridor_length=10, length_jitter=5)
    vec.reset(seed=0)
    assert set(np.unique(vec.episode_lengths)) == set(range(10, 16))
    assert abs(vec.cue_sides.mean() - 0.5) < 0.03


def test_reset_seed_reproduces_and_reset_mask_resets_only_those():
    a, b = NoisyTMazeVectorEnv(8, corridor_length=6), NoisyTMazeVectorEnv(8, corridor_length=6)
    obs_a, _ = a.reset(seed=42)
    obs_b, _ = b.reset(seed=42)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(a.episode_seeds, b.episode_seeds)
    a.step(np.zeros(8, np.int64))
    before = a.episode_seeds.copy()
    mask = np.zeros(8, bool)
    mask[[1, 5]] = True
    obs, _ = a.reset(options={"reset_mask": mask})
    assert np.all(a.steps[mask] == 0) and np.all(a.steps[~mask] == 1)
    assert np.array_equal(a.episode_seeds[~mask], before[~mask])


def test_bad_action_shapes_and_num_envs_are_refused():
    with pytest.raises(ValueError, match="num_envs"):
        NoisyTMazeVectorEnv(0, corridor_length=3)
    with pytest.raises(ValueError, match="corridor_length"):
        NoisyTMazeVectorEnv(2, corridor_length=0)
    vec = NoisyTMazeVectorEnv(2, corridor_length=3)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        vec.step(np.zeros(3, np.int64))
