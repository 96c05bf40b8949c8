"""Any gymnasium env (docs/design.md §11): flattening, checks before any work, replayable episodes."""

import gymnasium as gym
import numpy as np
import pytest

from envs import (EnvConfig, EnvSetupError, EnvSpec, UnflattenableSpaceError, describe_env,
                  make_env, make_vector_env, memory_inputs)
from envs.flat_observation import flat_space, flatten_observation
from app.config import ConfigError, load_config

popgym = pytest.importorskip("popgym")
REPEAT_FIRST = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",)))

SPACES = {
    "box": gym.spaces.Box(-2.0, 3.0, (2, 3), np.float32),
    "image": gym.spaces.Box(0, 255, (4, 4, 3), np.uint8),
    "discrete": gym.spaces.Discrete(5, start=2),
    "multi_discrete": gym.spaces.MultiDiscrete([2, 3, 4]),
    "multi_binary": gym.spaces.MultiBinary(6),
    "dict": gym.spaces.Dict({"a": gym.spaces.Discrete(3), "b": gym.spaces.Box(0, 1, (2,))}),
    "tuple": gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.MultiBinary(3),
                               gym.spaces.Dict({"c": gym.spaces.MultiDiscrete([3, 2])}))),
}


@pytest.mark.parametrize("name", SPACES)
def test_every_supported_space_flattens_to_float32_and_back(name):
    space = SPACES[name]
    space.seed(3)
    box = flat_space(space)
    for _ in range(20):
        sample = space.sample()
        flat = flatten_observation(space, sample)
        assert flat.dtype == np.float32 and flat.shape == box.shape and box.contains(flat)
        restored = gym.spaces.unflatten(space, flat.astype(gym.spaces.flatten_space(space).dtype))
        assert gym.spaces.flatten(space, restored).tolist() == flat.tolist()


def test_discrete_parts_are_one_hot():
    flat = flatten_observation(SPACES["discrete"], 4)  # Discrete(5, start=2): 4 is index 2
    assert flat.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("space", [gym.spaces.Text(8), gym.spaces.Sequence(gym.spaces.Discrete(2)),
                                   gym.spaces.Dict({"ok": gym.spaces.Discrete(2),
                                                    "mission": gym.spaces.Text(4)})])
def test_a_space_without_a_fixed_size_vector_is_refused_naming_the_part(space):
    with pytest.raises(UnflattenableSpaceError, match="cannot be flattened"):
        flat_space(space)


def test_env_spec_follows_the_env():
    spec = REPEAT_FIRST
    assert (spec.obs_dim, spec.num_actions, spec.max_episode_steps) == (4, 4, 51)
    assert spec.reward_values is None  # read off stored episodes, not declared by popgym
    assert not (spec.reports_success or spec.junction_cue) and spec.corridor_length is None
    with pytest.raises(ValueError, match="no corridor length"):
        spec.at_length(10)
    tmaze = EnvSpec.from_plain({"corridor_length": 7})
    assert (tmaze.obs_dim, tmaze.num_actions, tmaze.max_episode_steps) == (3, 2, 17)
    assert tmaze.reports_success and tmaze.junction_cue and tmaze.reward_values == (-3, 0, 4)
    longer = tmaze.at_length(70, length_jitter=0)
    assert (longer.corridor_length, longer.max_episode_steps) == (70, 70)


def test_unknown_id_missing_module_and_bad_kwargs_name_what_to_fix():
    with pytest.raises(EnvSetupError, match="not a registered gymnasium id.*did you mean "
                                            "popgym-RepeatFirstEasy-v0"):
        describe_env(EnvConfig("popgym-RepeatFirstEasyy-v0", {}, ("popgym",)))
    with pytest.raises(EnvSetupError, match="cannot import 'no_such_env_package'.*pip install"):
        describe_env(EnvConfig("Whatever-v0", {}, ("no_such_env_package",)))
    with pytest.raises(EnvSetupError, match="rejected env.kwargs"):
        describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {"no_such_arg": 1}, ("popgym",)))
    with pytest.raises(EnvSetupError, match="'module:Class'"):
        describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",), ("envs:Nope",)))


def test_a_continuous_action_space_is_refused():
    with pytest.raises(EnvSetupError, match="Pendulum-v1.*Discrete"):
        describe_env(EnvConfig("Pendulum-v1"))


def test_a_preset_with_a_bad_env_fails_at_load_naming_the_id(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("env:\n  id: Pendulum-v1\n")
    with pytest.raises(ConfigError, match="bad.yaml: env Pendulum-v1"):
        load_config(path)


def test_env_sections_round_trip_and_the_tmaze_keeps_its_form():
    plain = {"id": "popgym-RepeatFirstEasy-v0", "kwargs": {}, "import": ["popgym"]}
    config = EnvConfig.from_plain(plain)
    assert config.imports == ("popgym",) and config.to_plain() == plain
    assert EnvSpec.from_plain(plain).to_plain() == plain
    assert EnvConfig.from_plain({"id": "X-v0", "import": "popgym"}).imports == ("popgym",)
    tmaze = EnvConfig.from_plain({"corridor_length": 9, "noise": False})
    assert tmaze.is_tmaze and tmaze.to_plain() == {"corridor_length": 9, "noise": False}
    with pytest.raises(ValueError, match="env.seed: unknown key"):
        EnvConfig.from_plain({"id": "X-v0", "seed": 3})


def test_the_memory_input_size_follows_the_env(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("env:\n  id: popgym-CountRecallEasy-v0\n  import: popgym\n"
                    "memup:\n  memory:\n    obs_dim: 3\n    num_actions: 2\n")
    memory = load_config(path).memup.memory
    assert (memory.obs_dim, memory.num_actions) == (4, 27)
    assert memory.input_size == 4 + 27 + 1


def test_vector_episodes_replay_exactly_from_their_seed():
    vector = make_vector_env(REPEAT_FIRST, 3)
    obs, _ = vector.reset(seed=5)
    rng = np.random.default_rng(0)
    columns = {i: ([obs[i]], [], []) for i in range(3)}
    seeds = vector.episode_seeds.copy()
    done = np.zeros(3, bool)
    while not done.all():
        actions = rng.integers(0, 4, 3)
        obs, rewards, terminated, truncated, _ = vector.step(actions)
        for i in np.flatnonzero(~done):
            columns[i][1].append(actions[i])
            columns[i][2].append(rewards[i])
            if terminated[i] or truncated[i]:
                done[i] = True
            else:
                columns[i][0].append(obs[i])
    for i, (observations, actions, rewards) in columns.items():
        single = make_env(REPEAT_FIRST)
        first, _ = single.reset(seed=int(seeds[i]))
        replayed = [first]
        for t, action in enumerate(actions):
            step_obs, reward, terminated, truncated, _ = single.step(int(action))
            assert reward == rewards[t]
            if not (terminated or truncated):
                replayed.append(step_obs)
        np.testing.assert_array_equal(np.array(replayed), np.array(observations))


def test_memory_inputs_one_hot_any_action_count():
    x = memory_inputs(np.zeros((3, 2), np.float32), np.array([4, 1, 0]),
                      np.array([0.5, -1.0, 2.0], np.float32), num_actions=5)
    assert x.shape == (3, 2 + 5 + 1)
    assert x[1, 2 + 4] == 1.0 and x[1, -1] == 0.5 and x[2, 2 + 1] == 1.0 and x[2, -1] == -1.0
    assert not x[0, 2:].any()


def test_minigrid_needs_its_image_wrapper_and_the_error_says_so():
    pytest.importorskip("minigrid")
    with pytest.raises(EnvSetupError, match="mission.*env.wrappers.*ImgObsWrapper"):
        describe_env(EnvConfig("MiniGrid-MemoryS13Random-v0", {}, ("minigrid",)))
    wrapped = EnvConfig("MiniGrid-MemoryS13Random-v0", {}, ("minigrid",),
                        ("minigrid.wrappers:ImgObsWrapper",))
    spec = describe_env(wrapped)
    assert (spec.obs_dim, spec.num_actions) == (7 * 7 * 3, 7)
