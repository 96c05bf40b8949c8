"""Builds the env a spec describes (docs/design.md §11).

    env = make_vector_env(spec, num_envs=64)      # flat float32 obs, `episode_seeds`
    single = make_env(spec)                       # flat float32 obs, for replay and RLlib

The T-Maze keeps its numpy vector env, as does any id whose registered vector env declares
"memup.episode_seeds" (the Detour T-Maze); any other env runs as gymnasium's sync vector env
with one explicit seed per episode (`envs.seeded_vector`), so every stored episode can be
replayed. The seeds a numpy vector env records are episode seeds: they replay with
`reset(options={"episode_seed": seed})` rather than `reset(seed=seed)`.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from envs.env_config import EnvConfig
from envs.flat_observation import FlatFloatObservation
from envs.seeded_vector import SeededSyncVectorEnv

if TYPE_CHECKING:
    from envs.spec import EnvSpec


class EnvSetupError(ValueError):
    """The configured env cannot be used; the message names the id and what to change."""


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


def make_env(spec: EnvSpec) -> gym.Env:
    """One env with flat float32 observations."""
    config = spec.config
    if config.is_tmaze:
        from envs.noisy_tmaze import NoisyTMaze

        return NoisyTMaze(**config.tmaze.env_kwargs())
    return FlatFloatObservation(make_raw_env(config))


def make_vector_env(spec: EnvSpec, num_envs: int) -> gym.vector.VectorEnv:
    """`num_envs` envs with flat float32 observations, next-step autoreset and `episode_seeds`."""
    config = spec.config
    if config.is_tmaze:
        from envs.vector_tmaze import NoisyTMazeVectorEnv

        return NoisyTMazeVectorEnv(num_envs, **config.tmaze.env_kwargs())
    if _has_seeded_vector_env(config):
        return gym.make_vec(config.id, num_envs, vectorization_mode="vector_entry_point",
                            **config.kwargs)
    return SeededSyncVectorEnv([lambda: make_env(spec)] * num_envs)


def _has_seeded_vector_env(config: EnvConfig) -> bool:
    """Whether the id's registered vector env declares "memup.episode_seeds" in its metadata:
    flat float32 observations, next-step autoreset, `episode_seeds` and
    `options={"episode_seeds": ...}`, as `NoisyTMazeVectorEnv` (the Detour T-Maze's does)."""
    import_env_modules(config)
    registered = gym.registry.get(config.id)
    # make() takes these itself and wraps the env, which a vector entry point cannot.
    make_arguments = {"max_episode_steps", "disable_env_checker"}
    if registered is None or registered.vector_entry_point is None or config.wrappers \
            or registered.additional_wrappers or make_arguments & set(config.kwargs):
        return False
    creator = registered.vector_entry_point
    if isinstance(creator, str):
        creator = load_env_creator(creator)
    return getattr(creator, "metadata", {}).get("memup.episode_seeds") is True


def make_raw_env(config: EnvConfig) -> gym.Env:
    """The registered env with its wrappers, observations as the env gives them."""
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
