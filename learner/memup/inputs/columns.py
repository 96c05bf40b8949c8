"""An episode as the chunked learner keeps it: its raw columns, read a range of steps at a time.

Nothing here holds a float array per step beyond the episode's own columns: memory inputs x_t
and contexts c_t are built for the steps asked for (a slot's window, a scoring block), and the
only derived per-step array is f_t's class in the smallest integer type that holds it.

    columns = episode_columns(episode, config, codec)     # validated, classes encoded
    columns.x(0, 4096), columns.context(0, 4096)          # the first 4096 steps
    columns.context_at(np.array([9999]))                  # any steps, e.g. U_t's targets
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs import memory_inputs
from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import EpisodeLike
from memup_module import TargetCodec, episode_targets

# Validation and encoding walk the episode in parts this long, so their temporaries stay small.
_PART = 65_536


@dataclasses.dataclass(frozen=True)
class EpisodeColumns:
    """One validated episode: o_t [T, obs_dim], a_t [T], r_t [T] and the class of f_t [T]."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    classes: np.ndarray
    num_actions: int

    @property
    def length(self) -> int:
        return len(self.classes)

    @property
    def obs_dim(self) -> int:
        return self.obs.shape[1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(obs, action, reward), whole."""
        return self.obs, self.action, self.reward

    def release(self) -> None:
        """Nothing to drop (`ChunkedColumns` drops its cached chunks)."""

    @property
    def gone(self) -> bool:
        """Never (an episode streamed from the store may be evicted while it is read)."""
        return False

    def x(self, start: int, stop: int) -> np.ndarray:
        """x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] of steps start .. stop - 1, float32."""
        first = max(start - 1, 0)  # the step before `start` gives its previous action/reward
        x = memory_inputs(self.obs[first:stop], self.action[first:stop],
                          self.reward[first:stop], self.num_actions)
        return x[start - first:]

    def context(self, start: int, stop: int) -> np.ndarray:
        """[o_t, one_hot(a_t)] of steps start .. stop - 1, float32."""
        return self.context_at(np.arange(start, stop))

    def context_at(self, steps: np.ndarray) -> np.ndarray:
        """[o_t, one_hot(a_t)] of the given steps, float32 [len(steps), obs_dim + num_actions]."""
        obs_dim = self.obs.shape[1]
        context = np.zeros((len(steps), obs_dim + self.num_actions), np.float32)
        context[:, :obs_dim] = self.obs[steps]
        context[np.arange(len(steps)), obs_dim + self.action[steps]] = 1.0
        return context

    def values(self, config: MemUPConfig) -> np.ndarray:
        """f_t of every step, float32 [T] (built on demand: only the EMA score reads it)."""
        return episode_targets(self.reward, config.target, config.gamma)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.obs, self.action, self.reward, self.classes))


def episode_columns(episode: EpisodeLike, config: MemUPConfig,
                    codec: TargetCodec) -> EpisodeColumns:
    """Validates one episode's columns (shapes, action range, finiteness) and encodes f_t."""
    obs = np.asarray(episode.obs, np.float32)
    action = np.asarray(episode.action)
    reward = np.asarray(episode.reward, np.float32)
    memory = config.memory
    if obs.ndim != 2 or obs.shape[1] != memory.obs_dim or len(obs) == 0:
        raise ValueError(f"episode obs must be [T >= 1, {memory.obs_dim}], got {obs.shape}")
    if action.shape != (len(obs),) or reward.shape != (len(obs),):
        raise ValueError(f"episode columns disagree: obs {obs.shape}, action {action.shape}, "
                         f"reward {reward.shape}")
    if not np.issubdtype(action.dtype, np.integer):
        action = action.astype(np.int64)
    values = episode_targets(reward, config.target, config.gamma)
    classes = np.empty(len(obs), np.min_scalar_type(max(codec.num_classes - 1, 0)))
    for start in range(0, len(obs), _PART):
        part = slice(start, start + _PART)
        if action[part].min() < 0 or action[part].max() >= memory.num_actions:
            raise ValueError(f"episode actions must lie in [0, {memory.num_actions})")
        if not (np.isfinite(obs[part]).all() and np.isfinite(reward[part]).all()):
            raise ValueError("episode holds a non-finite observation or reward")
        classes[part] = codec.encode(values[part])
    return EpisodeColumns(obs, action, reward, classes, memory.num_actions)
