"""The env that RLlib's EnvRunners build: Noisy T-Mazes with agent inputs, as one vector env.

`register_rllib_env()` then `config.environment(env=RLLIB_ENV_ID, env_config=tmaze.env_kwargs())`
with `gym_env_vectorize_mode="vector_entry_point"`: RLlib calls `make_tmaze_env(env_config |
{"num_envs": N})` once per EnvRunner and gets N mazes stepped by numpy, not N Python envs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from ray.tune.registry import register_env

from envs import NoisyTMaze, NoisyTMazeVectorEnv, PrevActionReward, PrevActionRewardVector

RLLIB_ENV_ID = "memup-tmaze-agent-inputs"
"""RLlib (tune) registry name of `make_tmaze_env`; Ray ships the registry to every worker."""


def make_tmaze_env(env_config: Mapping[str, Any]) -> gym.Env | gym.vector.VectorEnv:
    """`PrevActionRewardVector(NoisyTMazeVectorEnv)` when `env_config` has `num_envs`, else the
    single-env `PrevActionReward(NoisyTMaze)`; the other keys are the maze's keyword arguments."""
    kwargs = dict(env_config)
    num_envs = kwargs.pop("num_envs", None)
    if num_envs is None:
        return PrevActionReward(NoisyTMaze(**kwargs))
    return PrevActionRewardVector(NoisyTMazeVectorEnv(int(num_envs), **kwargs))


def register_rllib_env() -> str:
    """Registers `make_tmaze_env` under `RLLIB_ENV_ID` (idempotent) and returns the id."""
    register_env(RLLIB_ENV_ID, make_tmaze_env)
    return RLLIB_ENV_ID
