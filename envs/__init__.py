"""Noisy T-Maze environments. `import envs` registers `memup/NoisyTMaze-v0` with gymnasium."""

import gymnasium as gym

from envs.agent_inputs import PrevActionReward, PrevActionRewardVector, memory_inputs
from envs.config import TMazeConfig
from envs.episode_rng import draw_episode_seeds
from envs.noisy_tmaze import OBS_DIM, NoisyTMaze
from envs.vector_tmaze import NoisyTMazeVectorEnv

ENV_ID = "memup/NoisyTMaze-v0"

if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point="envs.noisy_tmaze:NoisyTMaze",
        vector_entry_point="envs.vector_tmaze:NoisyTMazeVectorEnv",
    )

__all__ = [
    "ENV_ID",
    "OBS_DIM",
    "NoisyTMaze",
    "NoisyTMazeVectorEnv",
    "PrevActionReward",
    "PrevActionRewardVector",
    "TMazeConfig",
    "draw_episode_seeds",
    "memory_inputs",
]
