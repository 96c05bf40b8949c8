"""Many Noisy T-Mazes stepped together with numpy array operations."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from envs import episode_rng
from envs.config import TMazeConfig
from envs.noisy_tmaze import CUE, JUNCTION, NOISE, OBS_DIM
from envs.seeded_maze_vector import SeededMazeVectorEnv


class NoisyTMazeVectorEnv(SeededMazeVectorEnv):
    """`num_envs` Noisy T-Mazes with the single env's rules and no Python loop over sub-envs.

    Autoreset is gymnasium's default, next-step: the step after a sub-env terminates resets it,
    ignores its action and returns its first observation with reward 0. Sub-env `i` with episode
    seed `episode_seeds[i]` is bit-identical to `NoisyTMaze` reset with that episode seed.
    Infos carry `success` (with the `_success` mask) for sub-envs that just terminated.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        corridor_length: int,
        length_jitter: int = 10,
        noise: bool = True,
        success_reward: float = 4.0,
        failure_reward: float = -3.0,
    ) -> None:
        self.config = TMazeConfig(
            corridor_length, length_jitter, noise, success_reward, failure_reward
        )
        super().__init__(num_envs, 2, success_reward, failure_reward)
        self.episode_lengths = np.zeros(num_envs, np.int64)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = self._checked_actions(actions)
        stepping = self._restart_ended()
        at_junction = stepping & (self.steps == self.episode_lengths - 1)
        success = actions == self.cue_sides
        rewards = np.where(at_junction, self._rewards[success.astype(np.int64)], np.float32(0))
        self.steps += stepping & ~at_junction
        obs = self._observations()
        obs[at_junction] = 0.0
        self._needs_reset = at_junction
        infos: dict[str, Any] = {}
        if at_junction.any():
            infos = {"success": success & at_junction, "_success": at_junction}
        truncated = np.zeros(self.num_envs, bool)
        return obs, rewards.astype(np.float32), at_junction.copy(), truncated, infos

    def _begin(self, mask: np.ndarray, seeds: np.ndarray) -> None:
        self.episode_lengths[mask] = self.config.corridor_length + episode_rng.extra_lengths(
            seeds, self.config.length_jitter
        )

    def observations_at(self, steps: np.ndarray) -> np.ndarray:
        """o_t [..., num_envs, OBS_DIM] of each sub-env's current episode at `steps` [...,
        num_envs]. Actions before the junction change nothing, so a whole corridor is known
        ahead: the streamed evaluator reads it in time chunks."""
        obs = np.zeros((*steps.shape, OBS_DIM), np.float32)
        obs[..., CUE] = (steps == 0) * (self.cue_sides * 2 - 1)
        obs[..., JUNCTION] = steps == self.episode_lengths - 1
        if self.config.noise:
            obs[..., NOISE] = episode_rng.noise_at(self._noise_keys, steps)
        return obs

    def _observations(self) -> np.ndarray:
        return self.observations_at(self.steps)
