"""Many Detour T-Mazes stepped together with numpy array operations."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from envs import episode_rng
from envs.detour_tmaze import BACK, CHOOSE_LEFT, FORWARD, NUM_ACTIONS, DetourConfig
from envs.noisy_tmaze import CUE, JUNCTION, NOISE, OBS_DIM
from envs.seeded_maze_vector import SeededMazeVectorEnv


class DetourTMazeVectorEnv(SeededMazeVectorEnv):
    """`num_envs` Detour T-Mazes with the single env's rules and no Python loop over sub-envs.

    Autoreset is gymnasium's next-step one, as in `NoisyTMazeVectorEnv`: the step after a sub-env
    terminates or is truncated resets it, ignores its action and returns its first observation
    with reward 0. Sub-env `i` with episode seed `episode_seeds[i]` is bit-identical to
    `DetourTMaze` reset with that episode seed. Infos carry `success` (with the `_success` mask)
    for sub-envs that just ended; a truncated episode did not succeed.
    """

    # "memup.episode_seeds": `envs.make_vector_env` may build this class for its id (it has
    # `episode_seeds` and takes `options={"episode_seeds": ...}`, flat float32 observations).
    metadata = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
        "memup.episode_seeds": True,
    }

    def __init__(
        self,
        num_envs: int,
        corridor_length: int,
        detour_length: int | None = None,
        noise: bool = True,
        success_reward: float = 4.0,
        failure_reward: float = -3.0,
        slack: int | None = None,
        lag_penalty: float = 0.0,
    ) -> None:
        self.config = DetourConfig(
            corridor_length, detour_length, noise, success_reward, failure_reward, slack,
            lag_penalty,
        )
        super().__init__(num_envs, NUM_ACTIONS, success_reward, failure_reward)
        self.positions = np.zeros(num_envs, np.int64)

    @property
    def max_episode_steps(self) -> int:
        return self.config.max_steps

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = self._checked_actions(actions)
        if ((actions < 0) | (actions >= NUM_ACTIONS)).any():
            raise ValueError(f"actions must be 0 (back), 1 (forward), 2 (left) or 3 (right), "
                             f"got {actions}")
        actions = actions.astype(np.int64)
        stepping = self._restart_ended()
        lag_before = self.config.lag(self.positions, self.steps)
        at_junction = self.positions == self.config.junction
        decided = stepping & at_junction & (actions >= CHOOSE_LEFT)
        success = actions - CHOOSE_LEFT == self.cue_sides
        rewards = np.where(decided, self._rewards[success.astype(np.int64)], np.float32(0))
        moving = stepping & ~decided
        delta = (actions == FORWARD).astype(np.int64) - (actions == BACK)
        self.positions = np.where(
            moving, np.clip(self.positions + delta, 0, self.config.junction), self.positions
        )
        self.steps += moving
        lag_after = self.config.lag(self.positions, self.steps)
        rewards = np.where(moving, self.config.step_reward(lag_before, lag_after), rewards)
        truncated = moving & (self.steps >= self.config.max_steps)
        rewards = np.where(truncated, self._rewards[0], rewards)  # a timeout is a wrong answer
        obs = self._observations()
        obs[decided] = 0.0
        ended = decided | truncated
        self._needs_reset = ended
        infos: dict[str, Any] = {}
        if ended.any():
            infos = {"success": success & decided, "_success": ended}
        return obs, rewards.astype(np.float32), decided, truncated, infos

    def _begin(self, mask: np.ndarray, seeds: np.ndarray) -> None:
        self.positions[mask] = self.config.detour

    def _observations(self) -> np.ndarray:
        obs = np.zeros((self.num_envs, OBS_DIM), np.float32)
        obs[:, CUE] = (self.positions == 0) * (self.cue_sides * 2 - 1)
        obs[:, JUNCTION] = self.positions == self.config.junction
        if self.config.noise:
            obs[:, NOISE] = episode_rng.noise_at(self._noise_keys, self.steps)
        return obs
