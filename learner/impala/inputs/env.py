"""The env that RLlib's EnvRunners build: the run's env with agent inputs, as one vector env.

    config.environment(env=register_rllib_env(), env_config=rllib_env_config(env))

with `gym_env_vectorize_mode="vector_entry_point"`: RLlib calls `make_agent_env(env_config |
{"num_envs": N})` once per EnvRunner and gets `PrevActionRewardVector(make_vector_env(env, N))`:
N T-Mazes stepped by numpy (as fast as ever), or N envs of any other id in gymnasium's sync
vector env. `env_config` is the `EnvConfig`'s plain form (`id`, `kwargs`, `import`, `wrappers`,
or the maze's own keys), so it pickles to every worker; the factory imports `import` there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from ray.tune.registry import register_env

from envs import (
    EnvConfig,
    EnvSpec,
    PrevActionReward,
    PrevActionRewardVector,
    TMazeConfig,
    as_env_config,
    describe_env,
    make_env,
    make_vector_env,
)

RLLIB_ENV_ID = "memup-agent-inputs"
"""RLlib (tune) registry name of `make_agent_env`; Ray ships the registry to every worker."""


def rllib_env_config(env: EnvConfig | TMazeConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The `env_config` RLlib hands to `make_agent_env`: plain values only."""
    return as_env_config(env).to_plain()


def make_agent_env(env_config: Mapping[str, Any]) -> gym.Env | gym.vector.VectorEnv:
    """`PrevActionRewardVector(make_vector_env(...))` when `env_config` has `num_envs`, else the
    single-env `PrevActionReward(make_env(...))`; the other keys are an `EnvConfig`'s plain form.
    Building the env imports the modules named in `import` (in whichever process runs this)."""
    plain = dict(env_config)
    num_envs = plain.pop("num_envs", None)
    config = EnvConfig.from_plain(plain)
    if num_envs is None:
        return PrevActionReward(make_env(config))
    return PrevActionRewardVector(make_vector_env(config, int(num_envs)))


def register_rllib_env() -> str:
    """Registers `make_agent_env` under `RLLIB_ENV_ID` (idempotent) and returns the id."""
    register_env(RLLIB_ENV_ID, make_agent_env)
    return RLLIB_ENV_ID


def describe_training_env(run_env: EnvSpec, train_env_kwargs: Mapping[str, Any]) -> EnvSpec:
    """The env IMPALA trains on: the run's env with `impala.train_env_kwargs` applied. It must
    give the memory the same inputs (flat observation size, action count) as the run's env."""
    if not train_env_kwargs:
        return run_env
    try:
        spec = describe_env(run_env.config.with_kwargs(train_env_kwargs))
    except ValueError as error:  # EnvSetupError too
        raise ValueError(f"impala.train_env_kwargs: {error}") from None
    if (spec.obs_dim, spec.num_actions) != (run_env.obs_dim, run_env.num_actions):
        raise ValueError(
            f"impala.train_env_kwargs {dict(train_env_kwargs)} change the env's inputs "
            f"({spec.obs_dim} observation floats and {spec.num_actions} actions instead of "
            f"{run_env.obs_dim} and {run_env.num_actions}): the pretrained memory could not "
            "read them; change only what keeps the spaces (e.g. a length)")
    return spec
