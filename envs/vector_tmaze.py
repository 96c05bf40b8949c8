"""Many Noisy T-Mazes stepped together with numpy array operations."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from envs import episode_rng
from envs.config import TMazeConfig
from envs.noisy_tmaze import CUE, JUNCTION, NOISE, OBS_DIM, observation_space
from envs.validation import require_int


class NoisyTMazeVectorEnv(gym.vector.VectorEnv):
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
        require_int("num_envs", num_envs, 1)
        self.config = TMazeConfig(
            corridor_length, length_jitter, noise, success_reward, failure_reward
        )
        self.num_envs = num_envs
        self.single_observation_space = observation_space()
        self.single_action_space = gym.spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.episode_seeds = np.zeros(num_envs, np.uint64)
        self.episode_lengths = np.zeros(num_envs, np.int64)
        self.cue_sides = np.zeros(num_envs, np.int64)
        self.steps = np.zeros(num_envs, np.int64)
        self._noise_keys = np.zeros(num_envs, np.uint64)
        self._needs_reset = np.ones(num_envs, bool)
        # Indexed by success (0 or 1).
        self._rewards = np.array([failure_reward, success_reward], np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-env, or those in `options["reset_mask"]`.

        `options["episode_seeds"]` (one per reset sub-env) replays recorded episodes.
        """
        super().reset(seed=seed)
        options = options or {}
        mask = np.asarray(options.get("reset_mask", np.ones(self.num_envs, bool)), bool)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"reset_mask must have shape ({self.num_envs},), got {mask.shape}")
        seeds = options.get("episode_seeds")
        self._start_episodes(mask, None if seeds is None else np.asarray(seeds, np.uint64))
        return self._observations(), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        restarting = self._needs_reset.copy()
        if restarting.any():
            self._start_episodes(restarting, None)
        stepping = ~restarting
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

    def _start_episodes(self, mask: np.ndarray, seeds: np.ndarray | None) -> None:
        count = int(mask.sum())
        if seeds is None:
            seeds = episode_rng.draw_episode_seeds(self.np_random, count)
        elif seeds.shape != (count,):
            raise ValueError(f"episode_seeds must hold one seed per reset sub-env ({count})")
        self.episode_seeds[mask] = seeds
        self.cue_sides[mask] = episode_rng.cue_sides(seeds)
        self.episode_lengths[mask] = self.config.corridor_length + episode_rng.extra_lengths(
            seeds, self.config.length_jitter
        )
        self._noise_keys[mask] = episode_rng.noise_keys(seeds)
        self.steps[mask] = 0
        self._needs_reset[mask] = False

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
