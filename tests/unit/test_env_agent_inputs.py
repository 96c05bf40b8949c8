"""The online agent input (wrappers) equals the one built from stored columns, bit for bit."""

import numpy as np

from envs import (NoisyTMaze, NoisyTMazeVectorEnv, PrevActionReward, PrevActionRewardVector,
                  memory_inputs)


def test_memory_inputs_layout():
    obs = np.array([[1, 0, -1], [0, 0, 1], [0, 1, 1]], np.float32)
    x = memory_inputs(obs, np.array([1, 0, 1], np.int32), np.array([0, 0, 4], np.float32))
    expected = np.array(
        [[1, 0, -1, 0, 0, 0], [0, 0, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0]], np.float32
    )
    np.testing.assert_array_equal(x, expected)


def test_single_wrapper_agrees_with_memory_inputs_bit_for_bit():
    env = PrevActionReward(NoisyTMaze(corridor_length=12, length_jitter=3))
    raw = NoisyTMaze(corridor_length=12, length_jitter=3)
    rng = np.random.default_rng(0)
    for seed in range(10):
        x, _ = env.reset(seed=seed)
        o, _ = raw.reset(seed=seed)
        online, obs, actions, rewards = [x], [o], [], []
        while True:
            action = int(rng.integers(2))
            x, reward, terminated, _, _ = env.step(action)
            o, *_ = raw.step(action)
            actions.append(action), rewards.append(reward)
            if terminated:
                break
            online.append(x), obs.append(o)
        offline = memory_inputs(np.array(obs), np.array(actions, np.int32),
                                np.array(rewards, np.float32))
        assert np.array_equal(np.array(online), offline)
        assert env.observation_space.contains(online[-1])


def test_vector_wrapper_agrees_with_memory_inputs_across_autoresets():
    vec = PrevActionRewardVector(NoisyTMazeVectorEnv(6, corridor_length=3, length_jitter=2))
    x, _ = vec.reset(seed=1)
    rng = np.random.default_rng(1)
    rows = [[x[i]] for i in range(6)]
    cols = [([], []) for _ in range(6)]
    restarting = np.zeros(6, bool)
    checked = 0
    for _ in range(60):
        actions = rng.integers(0, 2, 6)
        x, rewards, terminated, _, _ = vec.step(actions)
        for i in range(6):
            if restarting[i]:
                rows[i], cols[i] = [x[i]], ([], [])
                continue
            cols[i][0].append(actions[i]), cols[i][1].append(rewards[i])
            if terminated[i]:
                online = np.array(rows[i])
                offline = memory_inputs(online[:, :3], np.array(cols[i][0], np.int32),
                                        np.array(cols[i][1], np.float32))
                assert np.array_equal(online, offline)
                checked += 1
            else:
                rows[i].append(x[i])
        restarting = terminated
    assert checked > 40
    assert vec.single_observation_space.shape == (6,)
