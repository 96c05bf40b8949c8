"""Turns the step stream of a next-step-autoreset vector env into complete episodes."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class RecordedEpisode:
    """The columns of one finished episode and what the env said about it."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    episode_seed: int
    success: bool | None
    truncated: bool = False
    """Whether the env cut the episode short (a time limit) rather than ending it."""


_INITIAL_CAPACITY = 1024


class EpisodeRecorder:
    """Per-sub-env buffers that grow (doubling) up to the longest possible episode.

    Call `begin(obs, seeds)` after a reset, then `record(...)` after every step. A sub-env's
    restart step (the step after it ended) is not a decision step and is not recorded. Only
    ended episodes come out (terminated, or truncated and marked so), so a partial episode can
    never leave the recorder.
    """

    def __init__(self, num_envs: int, obs_dim: int, max_length: int) -> None:
        capacity = min(max_length, _INITIAL_CAPACITY)
        self._obs = np.zeros((num_envs, capacity, obs_dim), np.float32)
        self._action = np.zeros((num_envs, capacity), np.int32)
        self._reward = np.zeros((num_envs, capacity), np.float32)
        self._t = np.zeros(num_envs, np.int64)
        self._seeds = np.zeros(num_envs, np.uint64)
        self._current_obs = np.zeros((num_envs, obs_dim), np.float32)
        self._restarting = np.zeros(num_envs, bool)
        self._rows = np.arange(num_envs)
        self.max_length = max_length

    def begin(self, obs: np.ndarray, episode_seeds: np.ndarray) -> None:
        self._current_obs[:] = obs
        self._seeds[:] = episode_seeds
        self._t[:] = 0
        self._restarting[:] = False

    def record(
        self,
        actions: np.ndarray,
        next_obs: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        success: np.ndarray | None,
        episode_seeds: np.ndarray,
        truncated: np.ndarray | None = None,
    ) -> list[RecordedEpisode]:
        """Stores the step o_t, a_t, r_t of every live sub-env; returns finished episodes.
        `success` is None for envs that do not report it."""
        live = ~self._restarting
        rows, t = self._rows[live], self._t[live]
        if (t >= self.max_length).any():
            raise RuntimeError(f"an episode ran past max_length={self.max_length}")
        if len(t) and t.max() >= self._obs.shape[1]:
            self._grow()
        self._obs[rows, t] = self._current_obs[live]
        self._action[rows, t] = actions[live]
        self._reward[rows, t] = rewards[live]
        self._t[live] += 1
        cut = np.zeros_like(terminated) if truncated is None else truncated & ~terminated
        ended = (terminated | cut) & live
        finished = [self._take(i, None if success is None else bool(success[i]), bool(cut[i]))
                    for i in np.flatnonzero(ended)]
        # Sub-envs restarting now start their new episode with this step's observation.
        restarted = self._restarting
        self._t[restarted] = 0
        self._seeds[restarted] = episode_seeds[restarted]
        self._current_obs[:] = next_obs
        self._restarting = terminated | cut
        return finished

    def _grow(self) -> None:
        capacity = min(2 * self._obs.shape[1], self.max_length)
        for name in ("_obs", "_action", "_reward"):
            old = getattr(self, name)
            new = np.zeros((old.shape[0], capacity, *old.shape[2:]), old.dtype)
            new[:, : old.shape[1]] = old
            setattr(self, name, new)

    def _take(self, i: int, success: bool | None, truncated: bool) -> RecordedEpisode:
        length = int(self._t[i])
        return RecordedEpisode(
            obs=self._obs[i, :length].copy(),
            action=self._action[i, :length].copy(),
            reward=self._reward[i, :length].copy(),
            episode_seed=int(self._seeds[i]),
            success=success,
            truncated=truncated,
        )
