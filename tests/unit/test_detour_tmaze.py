"""The Detour T-Maze (docs/design.md §3.1): rules, seeding, the vector env, the generic env path,
and that a random policy almost never sees the cue while a scripted one always succeeds."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs import (DETOUR_ENV_ID, DetourTMaze, DetourTMazeVectorEnv, EnvConfig, EnvSpec,
                  PrevActionRewardVector, default_detour_length, describe_env, make_env,
                  make_vector_env)
from envs.seeded_vector import SeededSyncVectorEnv

BACK, FORWARD, LEFT, RIGHT = 0, 1, 2, 3


def step_obs(env: DetourTMaze, action: int) -> np.ndarray:
    obs, reward, terminated, truncated, _ = env.step(action)
    assert reward == 0.0 and not (terminated or truncated)
    return obs


def test_registered_passes_the_checker_and_makes_vectors():
    env = gym.make(DETOUR_ENV_ID, corridor_length=5)
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, DetourTMaze) and env.action_space.n == 4
    vec = gym.make_vec(DETOUR_ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                       corridor_length=4)
    assert isinstance(vec.unwrapped, DetourTMazeVectorEnv) and vec.num_envs == 3
    assert {"DetourTMaze", "DetourTMazeVectorEnv", "DETOUR_ENV_ID"} <= set(envs.__all__)


def test_cue_only_at_the_detour_end_junction_flag_and_walls():
    env = DetourTMaze(corridor_length=4, detour_length=2, noise=False)
    obs, info = env.reset(seed=0)
    cue = 1.0 if env.cue_side == 1 else -1.0
    assert env.position == 2 and obs.tolist() == [0, 0, 0] and "episode_seed" in info
    assert step_obs(env, BACK).tolist() == [0, 0, 0]
    assert step_obs(env, BACK).tolist() == [cue, 0, 0] and env.position == 0
    assert step_obs(env, BACK).tolist() == [cue, 0, 0] and env.position == 0  # floored
    for choice in (LEFT, RIGHT):  # choosing away from the junction changes nothing
        assert step_obs(env, choice).tolist() == [cue, 0, 0] and env.position == 0
    for x in range(1, 6):
        assert step_obs(env, FORWARD).tolist() == [0, 0, 0] and env.position == x
    assert step_obs(env, FORWARD).tolist() == [0, 1, 0] and env.position == 6
    assert step_obs(env, FORWARD).tolist() == [0, 1, 0] and env.position == 6  # capped
    assert step_obs(env, BACK).tolist() == [0, 0, 0]
    assert step_obs(env, FORWARD).tolist() == [0, 1, 0]


@pytest.mark.parametrize("right", [True, False])
def test_the_choice_at_the_junction_ends_the_episode(right):
    env = DetourTMaze(corridor_length=3, detour_length=0, success_reward=2.5, failure_reward=-1)
    for seed in range(8):
        obs, _ = env.reset(seed=seed)
        assert obs[0] in (-1.0, 1.0)  # D = 0: the cue shows at the start
        for _ in range(3):
            step_obs(env, FORWARD)
        obs, reward, terminated, truncated, info = env.step(RIGHT if right else LEFT)
        success = right == (env.cue_side == 1)
        assert (terminated, truncated, info) == (True, False, {"success": success})
        assert reward == (2.5 if success else -1.0) and not obs.any()
        with pytest.raises(RuntimeError, match="reset"):
            env.step(BACK)


def test_truncated_at_the_horizon_and_the_shortest_success_fits_with_slack_one():
    env = DetourTMaze(corridor_length=3, detour_length=2, slack=1)
    assert env.max_episode_steps == 2 * 2 + 3 + 1
    env.reset(seed=1)
    for _ in range(7):
        step_obs(env, BACK)
    obs, reward, terminated, truncated, info = env.step(BACK)
    # A timeout is a wrong answer.
    assert (reward, terminated, truncated, info) == (-3.0, False, True, {"success": False})
    assert obs[0] != 0  # a cut episode shows where it stopped
    env.reset(seed=1)
    actions = [BACK] * 2 + [FORWARD] * 5 + [LEFT + env.cue_side]
    for action in actions[:-1]:
        step_obs(env, action)
    assert env.step(actions[-1])[1:] == (4.0, True, False, {"success": True})


def test_defaults_and_bad_arguments():
    assert default_detour_length(1000) == 95 and default_detour_length(50) == 22
    assert DetourTMaze(1000).max_episode_steps == 2 * 95 + 1000 + 119
    assert DetourTMaze(5, detour_length=3).max_episode_steps == 6 + 5 + 10  # slack at least 10
    for kwargs, name in [({"corridor_length": 0}, "corridor_length"),
                         ({"corridor_length": 5, "detour_length": -1}, "detour_length"),
                         ({"corridor_length": 5, "slack": 0}, "slack"),
                         ({"corridor_length": 5, "noise": 1}, "noise"),
                         ({"corridor_length": 5, "success_reward": float("nan")},
                          "success_reward"),
                         ({"corridor_length": 5, "lag_penalty": -0.1}, "lag_penalty"),
                         ({"corridor_length": 5.0}, "corridor_length")]:
        with pytest.raises(ValueError, match=name):
            DetourTMaze(**kwargs)
    env = DetourTMaze(5)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(4)


def play(env: DetourTMaze, first: np.ndarray, actions: np.ndarray):
    """Steps `actions` until the episode ends: observations seen before each action, rewards, the
    final (terminated, truncated, info, observation)."""
    observations, rewards = [first], []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(int(action))
        rewards.append(reward)
        if terminated or truncated:
            return np.array(observations), np.array(rewards, np.float32), (
                terminated, truncated, info, obs)
        observations.append(obs)
    raise AssertionError("the episode did not end")


def test_seeding_and_replay_from_the_episode_seed():
    env = DetourTMaze(corridor_length=3, detour_length=2, slack=3)
    rng = np.random.default_rng(0)
    sides = []
    for seed in range(40):
        first, info = env.reset(seed=seed)
        again, info_again = DetourTMaze(3, 2, slack=3).reset(seed=seed)
        assert info == info_again and np.array_equal(first, again)
        sides.append(env.cue_side)
        actions = rng.integers(0, 4, env.max_episode_steps)
        obs, rewards, end = play(env, first, actions)
        replay_first, replay_info = env.reset(options={"episode_seed": info["episode_seed"]})
        assert replay_info == info
        replay_obs, replay_rewards, replay_end = play(env, replay_first, actions)
        np.testing.assert_array_equal(obs, replay_obs)
        np.testing.assert_array_equal(rewards, replay_rewards)
        assert end[:3] == replay_end[:3] and np.array_equal(end[3], replay_end[3])
    assert 0 < sum(sides) < 40


def vector_episodes(vec: DetourTMazeVectorEnv, steps: int, seed: int, rng_actions=None):
    """Random actions with autoreset; finished episodes as (episode seed, obs, actions, rewards,
    (terminated, truncated, info, final obs))."""
    rng = np.random.default_rng(seed)
    obs, _ = vec.reset(seed=seed)
    seeds = vec.episode_seeds.copy()
    buffers = [([], [], []) for _ in range(vec.num_envs)]
    restarting = np.zeros(vec.num_envs, bool)
    finished = []
    for _ in range(steps):
        actions = rng.integers(0, 4, vec.num_envs)
        next_obs, rewards, terminated, truncated, infos = vec.step(actions)
        for i in range(vec.num_envs):
            if restarting[i]:
                assert rewards[i] == 0 and not (terminated[i] or truncated[i])
                seeds[i], buffers[i] = vec.episode_seeds[i], ([], [], [])
                continue
            o, a, r = buffers[i]
            o.append(obs[i]), a.append(actions[i]), r.append(rewards[i])
            if terminated[i] or truncated[i]:
                assert infos["_success"][i]
                info = {"success": bool(infos["success"][i])}
                end = (bool(terminated[i]), bool(truncated[i]), info, next_obs[i])
                finished.append((int(seeds[i]), np.array(o), np.array(a), np.array(r), end))
            else:
                assert "_success" not in infos or not infos["_success"][i]
        restarting = terminated | truncated
        obs = next_obs
    return finished


@pytest.mark.parametrize("noise, lag_penalty", [(True, 0.0), (False, 0.0), (True, 0.3)])
def test_sub_envs_are_bit_identical_to_the_single_env(noise, lag_penalty):
    kwargs = dict(corridor_length=3, detour_length=2, noise=noise, success_reward=2.5,
                  failure_reward=-1.0, slack=4, lag_penalty=lag_penalty)
    episodes = vector_episodes(DetourTMazeVectorEnv(16, **kwargs), steps=300, seed=3)
    assert len(episodes) > 200
    ends = {(end[0], end[1], end[2]["success"]) for *_, end in episodes}
    assert ends == {(True, False, True), (True, False, False), (False, True, False)}
    assert any((obs[:, 0] != 0).any() for _, obs, *_ in episodes)
    single = DetourTMaze(**kwargs)
    for episode_seed, obs, actions, rewards, end in episodes:
        first, _ = single.reset(options={"episode_seed": episode_seed})
        single_obs, single_rewards, single_end = play(single, first, actions)
        np.testing.assert_array_equal(obs, single_obs)
        np.testing.assert_array_equal(rewards, single_rewards)
        assert end[:3] == single_end[:3] and np.array_equal(end[3], single_end[3])
    steps_paid = {float(r) for *_, rewards, _ in episodes for r in rewards[:-1]}
    lag_rewards = {0.0, float(-np.float32(0.3)), float(-np.float32(0.6))}
    assert steps_paid == (lag_rewards if lag_penalty else {0.0})


def test_vector_reset_options_replay_and_mask():
    vec = DetourTMazeVectorEnv(4, corridor_length=5)
    first, _ = vec.reset(options={"episode_seeds": [11, 12, 13, 14]})
    for i, seed in enumerate([11, 12, 13, 14]):
        assert np.array_equal(first[i], DetourTMaze(5).reset(options={"episode_seed": seed})[0])
    vec.step(np.zeros(4, np.int64))
    vec.reset(options={"reset_mask": [True, False, False, True], "episode_seeds": [21, 22]})
    assert vec.episode_seeds.tolist() == [21, 12, 13, 22]
    assert vec.steps.tolist() == [0, 1, 1, 0]
    with pytest.raises(ValueError, match="one seed per reset sub-env"):
        vec.reset(options={"episode_seeds": [1, 2]})
    with pytest.raises(ValueError, match="actions"):
        vec.step(np.array([0, 1, 2, 4]))


def test_the_lag_penalty_charges_each_step_of_schedule_lost():
    # After k steps the shortest success is at x = |D - k|: behind schedule means x < k - D.
    env = DetourTMaze(corridor_length=4, detour_length=2, lag_penalty=0.25, slack=3)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in [BACK, BACK, FORWARD, FORWARD, FORWARD, FORWARD]]
    assert rewards == [0.0] * 6  # the detour, then the corridor on schedule
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in [FORWARD] * 4 + [BACK] * 3 + [LEFT]]
    # Skipping the cue puts it 4 steps ahead; stepping back eats that, then loses 2 a step.
    assert rewards == [0.0] * 6 + [-0.5, -0.25]
    env.reset(seed=0)
    assert [env.step(LEFT)[1] for _ in range(6)] == [0.0] * 4 + [-0.25] * 2  # standing still
    assert describe_env(EnvConfig(DETOUR_ENV_ID, {"corridor_length": 4, "lag_penalty": 0.25})
                        ).reward_values == (-3.0, 0.0, 4.0, -0.25, -0.5)


def test_the_generic_env_path_reads_what_the_env_declares():
    config = EnvConfig(DETOUR_ENV_ID, {"corridor_length": 50})
    spec = describe_env(config)
    assert (spec.obs_dim, spec.num_actions, spec.corridor_length) == (3, 4, 50)
    assert spec.reports_success and not spec.junction_cue
    assert spec.reward_values == (-3.0, 0.0, 4.0)
    assert spec.max_episode_steps == DetourTMaze(50).max_episode_steps
    assert EnvSpec.from_plain(spec.to_plain()) == spec
    longer = spec.at_length(200)
    assert longer.corridor_length == 200
    assert longer.max_episode_steps == DetourTMaze(200).max_episode_steps
    vec = make_vector_env(spec, 5)
    assert isinstance(vec, DetourTMazeVectorEnv) and vec.config.corridor_length == 50
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (5, 3) and vec.episode_seeds.shape == (5,)
    agent = PrevActionRewardVector(make_vector_env(spec, 2))
    assert agent.reset(seed=0)[0].shape == (2, 3 + 4 + 1)
    assert agent.single_observation_space.high[-1] == 4.0
    single = make_env(spec)
    assert single.reset(options={"episode_seed": 7})[0].tolist() == \
        DetourTMaze(50).reset(options={"episode_seed": 7})[0].tolist()


def test_a_wrapper_keeps_the_generic_vector_env_and_drops_declared_rewards():
    config = EnvConfig(DETOUR_ENV_ID, {"corridor_length": 5},
                       wrappers=("gymnasium.wrappers:RecordEpisodeStatistics",))
    spec = describe_env(config)
    assert spec.reward_values is None and spec.reports_success
    vec = make_vector_env(spec, 2)
    assert isinstance(vec, SeededSyncVectorEnv) and vec.episode_seeds.shape == (2,)


def scripted_actions(obs: np.ndarray, remembered: np.ndarray) -> np.ndarray:
    """Back until the cue shows, then forward to the junction and choose the cue's side."""
    remembered[:] = np.where(obs[:, 0] != 0, obs[:, 0], remembered)
    walk = np.where(remembered == 0, BACK, FORWARD)
    return np.where(obs[:, 1] == 1, np.where(remembered > 0, RIGHT, LEFT), walk)


def first_episodes(vec: DetourTMazeVectorEnv, seed: int, scripted: bool):
    """Plays each sub-env's first episode; returns (cue seen, success) per sub-env."""
    obs, _ = vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    remembered = np.zeros(vec.num_envs, np.float32)
    seen, success = obs[:, 0] != 0, np.zeros(vec.num_envs, bool)
    done = np.zeros(vec.num_envs, bool)
    while not done.all():
        actions = (scripted_actions(obs, remembered) if scripted
                   else rng.integers(0, 4, vec.num_envs))
        obs, rewards, terminated, truncated, infos = vec.step(actions)
        ended = (terminated | truncated) & ~done
        seen |= ~done & ~ended & (obs[:, 0] != 0)
        if ended.any():
            success |= ended & infos["success"]
        done |= ended
    return seen, success


def test_a_random_policy_almost_never_sees_the_cue_at_the_default_detour():
    # L = 1000: D = 95 over a horizon of 1309 steps (2 in 10 000 in a 200 000-episode run).
    seen, success = first_episodes(DetourTMazeVectorEnv(2000, 1000, noise=False), 0, False)
    assert seen.mean() < 0.01 and not success.any()


def test_a_scripted_policy_always_succeeds_also_across_autoresets():
    seen, success = first_episodes(DetourTMazeVectorEnv(200, 1000), 1, True)
    assert seen.all() and success.all()
    vec = DetourTMazeVectorEnv(64, corridor_length=7, detour_length=3)
    obs, _ = vec.reset(seed=2)
    remembered = np.zeros(64, np.float32)
    outcomes = []
    for _ in range(200):
        obs, rewards, terminated, truncated, infos = vec.step(scripted_actions(obs, remembered))
        assert not truncated.any()
        outcomes += rewards[terminated].tolist()
        remembered[terminated] = 0.0
    assert len(outcomes) > 64 * 5 and set(outcomes) == {4.0}
