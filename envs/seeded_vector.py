"""A sync vector env whose every episode is a pure function of its own episode seed.

Gymnasium's autoreset resets a finished sub-env without a seed, so its next episode depends on
all the episodes before it. `EpisodeSeeding` reseeds each episode from a seed it draws (and
records), so a stored episode replays exactly with `gymnasium.make(id, **kwargs)` and
`reset(seed=episode_seed)`. `SeededSyncVectorEnv` exposes the seeds as `episode_seeds`, as
`NoisyTMazeVectorEnv` does, and takes `options={"episode_seeds": [...]}` on reset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from envs.episode_rng import draw_episode_seeds


class EpisodeSeeding(gym.Wrapper):
    """Resets the env with an explicit seed every episode: the given one, or the next one of a
    stream started by the last explicit seed."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.episode_seed = 0
        self._stream = np.random.default_rng(0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None:
            seed = int(draw_episode_seeds(self._stream, 1)[0])
        else:
            self._stream = np.random.default_rng([int(seed), 0x5EED])
        self.episode_seed = int(seed)
        return self.env.reset(seed=self.episode_seed, options=options)


class SeededSyncVectorEnv(gym.vector.SyncVectorEnv):
    """`SyncVectorEnv` (next-step autoreset) over `EpisodeSeeding` sub-envs."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]) -> None:
        super().__init__([lambda fn=fn: EpisodeSeeding(fn()) for fn in env_fns])

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None):
        options = dict(options or {})
        seeds = options.pop("episode_seeds", None)
        if seeds is not None:
            seed = [int(s) for s in np.asarray(seeds, np.uint64)]
            if len(seed) != self.num_envs:
                raise ValueError(f"episode_seeds must hold one seed per sub-env ({self.num_envs})")
        elif seed is None:
            seed = [int(s) for s in draw_episode_seeds(np.random.default_rng(), self.num_envs)]
        elif isinstance(seed, int):
            seed = [int(s) for s in draw_episode_seeds(np.random.default_rng(seed),
                                                       self.num_envs)]
        return super().reset(seed=seed, options=options or None)

    @property
    def episode_seeds(self) -> np.ndarray:
        """The seed of each sub-env's current episode (after a restart step, the new one's)."""
        return np.array([env.episode_seed for env in self.envs], np.uint64)
