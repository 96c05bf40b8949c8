"""Noisy T-Maze environments, where every episode starts. `import envs` registers
`memup/NoisyTMaze-v0` and `memup/DetourTMaze-v0` (the cue at the end of a detour, §3.1; run
like any other id) with gymnasium.

    spec = describe_env(EnvConfig.from_plain({"corridor_length": 1000}))   # once, at config load
    env = make_vector_env(spec, num_envs=256)     # the T-Maze's numpy vector env
    obs, _ = env.reset(seed=0)                    # collectors step it with a behaviour policy
    x = memory_inputs(obs, action, reward)        # phase I, from an episode's columns:
                                                  # [o_t, one_hot(a_{t-1}), r_{t-1}]
    PrevActionRewardVector(env)                   # phase II: the same input, online

Any other gymnasium env with a discrete action space runs through the same parts
(docs/design.md §11): `describe_env(EnvConfig(id, kwargs, imports))` checks it once into an
`EnvSpec` (sizes, rewards, what it supports), which every layer below the application takes;
`make_vector_env(spec, n)` steps it with flat float32 observations and one seed per episode.
T-Maze knowledge stays in this package: the rest asks the spec (`reports_success`,
`junction_cue`, `corridor_length`), `open_loop_episodes` and `random_rollouts`.

Episode seeds come from `draw_episode_seeds` (training and held-out sets alike); `validation`
holds the checks every package's config dataclass runs.
"""

import gymnasium as gym

from envs.agent_inputs import PrevActionReward, PrevActionRewardVector, memory_inputs
from envs.config import TMazeConfig
from envs.env_config import TMAZE_ID, EnvConfig
from envs.episode_rng import draw_episode_seeds
from envs.flat_observation import FlatFloatObservation, UnflattenableSpaceError
from envs.make import EnvSetupError, make_env, make_vector_env
from envs.open_loop import OpenLoopEpisodes, open_loop_episodes
from envs.random_rollouts import random_rollouts
from envs.spec import EnvSpec, describe_env, tmaze_spec
from envs.noisy_tmaze import OBS_DIM, NoisyTMaze
from envs.vector_tmaze import NoisyTMazeVectorEnv
from envs.detour_tmaze import DetourTMaze, default_detour_length
from envs.vector_detour_tmaze import DetourTMazeVectorEnv

ENV_ID = TMAZE_ID
DETOUR_ENV_ID = "memup/DetourTMaze-v0"

if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point="envs.noisy_tmaze:NoisyTMaze",
        vector_entry_point="envs.vector_tmaze:NoisyTMazeVectorEnv",
    )
if DETOUR_ENV_ID not in gym.registry:
    gym.register(
        id=DETOUR_ENV_ID,
        entry_point="envs.detour_tmaze:DetourTMaze",
        vector_entry_point="envs.vector_detour_tmaze:DetourTMazeVectorEnv",
    )

__all__ = [
    "ENV_ID",
    "EnvConfig",
    "EnvSetupError",
    "EnvSpec",
    "FlatFloatObservation",
    "UnflattenableSpaceError",
    "describe_env",
    "tmaze_spec",
    "make_env",
    "make_vector_env",
    "OpenLoopEpisodes",
    "open_loop_episodes",
    "random_rollouts",
    "OBS_DIM",
    "NoisyTMaze",
    "NoisyTMazeVectorEnv",
    "DETOUR_ENV_ID",
    "DetourTMaze",
    "DetourTMazeVectorEnv",
    "default_detour_length",
    "PrevActionReward",
    "PrevActionRewardVector",
    "TMazeConfig",
    "draw_episode_seeds",
    "memory_inputs",
]
