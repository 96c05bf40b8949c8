"""The env that RLlib's EnvRunners build: the run's env with agent inputs, as one vector env.

    config.environment(env=register_rllib_env(), env_config=rllib_env_config(spec))

with `gym_env_vectorize_mode="vector_entry_point"`: RLlib calls `make_agent_env(env_config |
{"num_envs": N})` once per EnvRunner and gets `PrevActionRewardVector(make_vector_env(spec, N))`:
N T-Mazes stepped by numpy (as fast as ever), or N envs of any other id in gymnasium's sync
vector env. `env_config` holds the run's `EnvSpec` itself, which Ray pickles to every worker;
building the env there imports the modules the spec names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from ray.tune.registry import register_env

from envs import EnvSpec, PrevActionReward, PrevActionRewardVector, make_env, make_vector_env

RLLIB_ENV_ID = "memup-agent-inputs"
"""RLlib (tune) registry name of `make_agent_env`; Ray ships the registry to every worker."""


SPEC_KEY = "spec"
SINK_KEY = "sink"


def rllib_env_config(spec: EnvSpec, sink: Any = None) -> dict[str, Any]:
    """The `env_config` RLlib hands to `make_agent_env`; `sink` (`SinkSettings`) makes the
    EnvRunners record their episodes into a store (learner.impala.episode_sink)."""
    return {SPEC_KEY: spec} if sink is None else {SPEC_KEY: spec, SINK_KEY: sink}


def make_agent_env(env_config: Mapping[str, Any]) -> gym.Env | gym.vector.VectorEnv:
    """`PrevActionRewardVector(make_vector_env(...))` when `env_config` has `num_envs`, else the
    single-env `PrevActionReward(make_env(...))`, of the `EnvSpec` under `SPEC_KEY`. Building
    the env imports the modules the spec names (in whichever process runs this)."""
    spec, num_envs = env_config[SPEC_KEY], env_config.get("num_envs")
    if num_envs is None:
        return PrevActionReward(make_env(spec))
    return PrevActionRewardVector(make_vector_env(spec, int(num_envs)))


def register_rllib_env() -> str:
    """Registers `make_agent_env` under `RLLIB_ENV_ID` (idempotent) and returns the id."""
    register_env(RLLIB_ENV_ID, make_agent_env)
    return RLLIB_ENV_ID
