"""The Noisy T-Maze: remember a cue from step 0 until the junction at step T-1."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs import episode_rng
from envs.config import TMazeConfig

OBS_DIM = 3
CUE, JUNCTION, NOISE = 0, 1, 2


def observation_space() -> gym.spaces.Box:
    return gym.spaces.Box(-1.0, 1.0, (OBS_DIM,), np.float32)


class NoisyTMaze(gym.Env[np.ndarray, np.int64]):
    """Noisy T-Maze (docs/design.md §3).

    Observation `[cue, junction, noise]`: the cue (-1 left, +1 right) shows at t = 0 only, the
    junction flag at t = T-1 only, noise is ±1 at every step. Actions before the junction change
    nothing; the action at t = T-1 earns `success_reward` if it names the cue side, else
    `failure_reward`, and ends the episode with an all-zero observation.

    `reset(seed=s)` seeds the env's generator as gymnasium does; each episode then draws one
    episode seed that fixes its cue, length and noise. `reset(options={"episode_seed": e})`
    replays the episode with seed `e` exactly (the vector env records these seeds).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        corridor_length: int,
        length_jitter: int = 10,
        noise: bool = True,
        success_reward: float = 4.0,
        failure_reward: float = -3.0,
    ) -> None:
        self.config = TMazeConfig(
            corridor_length, length_jitter, noise, success_reward, failure_reward
        )
        self.observation_space = observation_space()
        self.action_space = gym.spaces.Discrete(2)
        self._t = 0
        self._length = 0
        self._cue_side = 0
        self._noise_key = np.zeros(1, np.uint64)
        self._done = True

    @property
    def episode_length(self) -> int:
        """T, the number of decision steps of the current episode."""
        return self._length

    @property
    def cue_side(self) -> int:
        """0 if the cue of the current episode points left, 1 if right."""
        return self._cue_side

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        episode_seed = episode_rng.starting_seed(self.np_random, options)
        self._cue_side = int(episode_rng.cue_sides(episode_seed)[0])
        extra = int(episode_rng.extra_lengths(episode_seed, self.config.length_jitter)[0])
        self._length = self.config.corridor_length + extra
        self._noise_key = episode_rng.noise_keys(episode_seed)
        self._t = 0
        self._done = False
        info = {"episode_seed": int(episode_seed[0]), "episode_length": self._length}
        return self._observation(), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (left) or 1 (right), got {action!r}")
        if self._t < self._length - 1:
            self._t += 1
            return self._observation(), 0.0, False, False, {}
        success = int(action) == self._cue_side
        reward = self.config.success_reward if success else self.config.failure_reward
        self._done = True
        return np.zeros(OBS_DIM, np.float32), float(reward), True, False, {"success": success}

    def _observation(self) -> np.ndarray:
        obs = np.zeros(OBS_DIM, np.float32)
        if self._t == 0:
            obs[CUE] = 1.0 if self._cue_side == 1 else -1.0
        if self._t == self._length - 1:
            obs[JUNCTION] = 1.0
        if self.config.noise:
            obs[NOISE] = episode_rng.noise_at(self._noise_key, np.array([self._t]))[0]
        return obs
