"""Builds the env a run names, checked before any work starts (docs/design.md §11).

    spec = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", imports=("popgym",)))
    spec.obs_dim, spec.num_actions, spec.max_episode_steps
    env = make_vector_env(config, num_envs=64)    # flat float32 obs, `episode_seeds`
    single = make_env(config)                     # flat float32 obs, for replay and RLlib

The T-Maze keeps its numpy vector env; any other env runs as gymnasium's sync vector env with
one explicit seed per episode (`envs.seeded_vector`), so every stored episode can be replayed.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib

import gymnasium as gym

from envs.agent_inputs import NUM_ACTIONS
from envs.env_config import EnvConfig, as_env_config
from envs.flat_observation import FlatFloatObservation, UnflattenableSpaceError, flat_size
from envs.noisy_tmaze import OBS_DIM
from envs.seeded_vector import SeededSyncVectorEnv

# A horizon for envs that declare none, so evaluation loops always end.
DEFAULT_MAX_EPISODE_STEPS = 100_000


class EnvSetupError(ValueError):
    """The configured env cannot be used; the message names the id and what to change."""


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """What the rest of the system needs to know of an env."""

    config: EnvConfig
    obs_dim: int
    """Size of the flattened observation."""
    num_actions: int
    max_episode_steps: int
    """Longest episode: the env's time limit, or its own declared horizon."""
    reward_values: tuple[float, ...] | None
    """The finite set of rewards a step can give when the env says so (the T-Maze), else None:
    the learner reads the set off a first batch of stored episodes."""


def import_env_modules(config: EnvConfig) -> None:
    """Imports `env.import` (which registers ids), naming the package to install if missing."""
    for module in config.imports:
        try:
            importlib.import_module(module)
        except ImportError as error:
            package = module.split(".")[0]  # popgym, minigrid: the package is the module
            raise EnvSetupError(
                f"env {config.id}: cannot import {module!r} ({error}); install it with "
                f"`pip install {package}` (`make install` installs popgym and minigrid)"
            ) from None
    import envs  # noqa: F401 - registers the T-Maze


def describe_env(env: EnvConfig | object) -> EnvSpec:
    """Checks the id, the action space and the observation space; raises `EnvSetupError`."""
    config = as_env_config(env)
    if config.is_tmaze:
        tmaze = config.tmaze
        return EnvSpec(config, OBS_DIM, NUM_ACTIONS, tmaze.max_episode_steps,
                       (float(tmaze.failure_reward), 0.0, float(tmaze.success_reward)))
    single = _make_raw(config)
    try:
        action_space = single.action_space
        if not isinstance(action_space, gym.spaces.Discrete) or action_space.start != 0:
            raise EnvSetupError(
                f"env {config.id}: its action space is {action_space}; MemUP-RL needs a "
                "Discrete(n) action space starting at 0 (wrap continuous control with a "
                "discretising action wrapper)")
        try:
            obs_dim = flat_size(single.observation_space)
        except UnflattenableSpaceError as error:
            raise EnvSetupError(
                f"env {config.id}: {error} (name such a wrapper in env.wrappers as "
                "'module:Class', e.g. minigrid.wrappers:ImgObsWrapper for MiniGrid)") from None
        return EnvSpec(config, obs_dim, int(action_space.n), _horizon(single), None)
    finally:
        single.close()


def make_env(env: EnvConfig | object) -> gym.Env:
    """One env with flat float32 observations."""
    config = as_env_config(env)
    if config.is_tmaze:
        from envs.noisy_tmaze import NoisyTMaze

        return NoisyTMaze(**config.tmaze.env_kwargs())
    return FlatFloatObservation(_make_raw(config))


def make_vector_env(env: EnvConfig | object, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` envs with flat float32 observations, next-step autoreset and `episode_seeds`."""
    config = as_env_config(env)
    if config.is_tmaze:
        from envs.vector_tmaze import NoisyTMazeVectorEnv

        return NoisyTMazeVectorEnv(num_envs, **config.tmaze.env_kwargs())
    describe_env(config)
    return SeededSyncVectorEnv([lambda: make_env(config)] * num_envs)


def _make_raw(config: EnvConfig) -> gym.Env:
    import_env_modules(config)
    if config.id not in gym.registry:
        close = difflib.get_close_matches(config.id, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        module_hint = ("" if config.imports
                       else " or name the module that registers it in env.import")
        raise EnvSetupError(f"env {config.id} is not a registered gymnasium id{hint} (check the "
                            f"spelling{module_hint})")
    try:
        env = gym.make(config.id, **config.kwargs)
    except TypeError as error:
        raise EnvSetupError(f"env {config.id}: gymnasium.make rejected env.kwargs "
                            f"{config.kwargs}: {error}") from None
    for wrapper in config.wrappers:
        env = _wrapper_class(config, wrapper)(env)
    return env


def _wrapper_class(config: EnvConfig, path: str) -> type:
    module_name, _, name = path.partition(":")
    try:
        wrapper = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise EnvSetupError(f"env {config.id}: wrapper {path!r} cannot be loaded ({error}); "
                            "write it as 'module:Class'") from None
    if not (isinstance(wrapper, type) and issubclass(wrapper, gym.Wrapper)):
        raise EnvSetupError(f"env {config.id}: wrapper {path!r} is not a gymnasium wrapper")
    return wrapper


def _horizon(env: gym.Env) -> int:
    if env.spec is not None and env.spec.max_episode_steps:
        return int(env.spec.max_episode_steps)
    for name in ("max_episode_length", "max_steps", "max_episode_steps"):
        value = getattr(env.unwrapped, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_EPISODE_STEPS
