"""EpisodeRecorder turns a vector env's step stream into exact, complete episodes."""

import numpy as np

from actors.episode_recorder import EpisodeRecorder
from actors.policies import UniformRandomPolicy
from envs import NoisyTMaze, NoisyTMazeVectorEnv


def record(num_envs: int, steps: int, **kwargs):
    env = NoisyTMazeVectorEnv(num_envs, **kwargs)
    recorder = EpisodeRecorder(num_envs, 3, env.config.max_episode_steps)
    obs, _ = env.reset(seed=7)
    recorder.begin(obs, env.episode_seeds)
    policy, rng, episodes = UniformRandomPolicy(), np.random.default_rng(7), []
    for _ in range(steps):
        actions = policy.act(obs, rng)
        obs, rewards, terminated, _, infos = env.step(actions)
        success = infos.get("success", np.zeros(num_envs, bool))
        episodes += recorder.record(actions, obs, rewards, terminated, success, env.episode_seeds)
    return episodes


def test_recorded_episodes_replay_exactly_in_the_single_env():
    kwargs = dict(corridor_length=6, length_jitter=3)
    episodes = record(8, 300, **kwargs)
    assert len(episodes) > 200
    for ep in episodes:
        env = NoisyTMaze(**kwargs)
        obs, info = env.reset(options={"episode_seed": ep.episode_seed})
        assert len(ep.action) == info["episode_length"]
        for t, action in enumerate(ep.action):
            np.testing.assert_array_equal(ep.obs[t], obs)
            obs, reward, terminated, _, step_info = env.step(int(action))
            assert reward == ep.reward[t]
        assert terminated and step_info["success"] == ep.success
        assert ep.obs.dtype == np.float32 and ep.action.dtype == np.int32


def test_only_complete_episodes_leave_the_recorder():
    # 25 steps of a 20..22-step maze: each sub-env finishes exactly one episode.
    episodes = record(4, 25, corridor_length=20, length_jitter=2)
    assert len(episodes) == 4
    for ep in episodes:
        assert 20 <= len(ep.action) <= 22
        assert ep.obs[-1, 1] == 1.0 and np.all(ep.obs[:-1, 1] == 0)
        assert ep.obs[0, 0] != 0

