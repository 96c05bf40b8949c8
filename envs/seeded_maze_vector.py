"""What the numpy vector T-Mazes share: episode seeds, masked resets, next-step autoreset."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from envs import episode_rng
from envs.noisy_tmaze import observation_space
from envs.validation import require_int


class SeededMazeVectorEnv(gym.vector.VectorEnv):
    """`num_envs` mazes whose every episode is fixed by its episode seed (cue side and noise):
    `episode_seeds` names each sub-env's current one, `reset(options={"reset_mask": m,
    "episode_seeds": s})` restarts some sub-envs, replaying recorded episodes when given seeds.
    Subclasses set their own state for new episodes in `_begin`, and define `step` and
    `_observations()` ([num_envs, OBS_DIM] of the current steps)."""

    def __init__(self, num_envs: int, num_actions: int, success_reward: float,
                 failure_reward: float) -> None:
        require_int("num_envs", num_envs, 1)
        self.num_envs = num_envs
        self.single_observation_space = observation_space()
        self.single_action_space = gym.spaces.Discrete(num_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.episode_seeds = np.zeros(num_envs, np.uint64)
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

    def _checked_actions(self, actions: Any) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        return actions

    def _restart_ended(self) -> np.ndarray:
        """Starts a new episode in each sub-env that ended last step; returns those that step."""
        restarting = self._needs_reset.copy()
        if restarting.any():
            self._start_episodes(restarting, None)
        return ~restarting

    def _start_episodes(self, mask: np.ndarray, seeds: np.ndarray | None) -> None:
        count = int(mask.sum())
        if seeds is None:
            seeds = episode_rng.draw_episode_seeds(self.np_random, count)
        elif seeds.shape != (count,):
            raise ValueError(f"episode_seeds must hold one seed per reset sub-env ({count})")
        self.episode_seeds[mask] = seeds
        self.cue_sides[mask] = episode_rng.cue_sides(seeds)
        self._noise_keys[mask] = episode_rng.noise_keys(seeds)
        self.steps[mask] = 0
        self._needs_reset[mask] = False
        self._begin(mask, seeds)

    def _begin(self, mask: np.ndarray, seeds: np.ndarray) -> None:
        """The subclass's own state for the episodes starting in `mask`."""
