"""An episode streamed from the store: `EpisodeColumns`' interface, its columns read by chunk.

`TrajectoryStore.sample_streamed` hands long episodes out as `StreamedEpisode`s (one ranged
read per record batch, docs/design.md §13). `streamed_columns` validates one in a single pass over
its chunks and keeps only f_t's class per step (1 byte on the T-Maze); `ChunkedColumns` then
reads the steps a slot window or a scoring block asks for, caching the last few chunks.

    columns = streamed_columns(store_episode, config, codec)   # one pass: checks, classes
    columns.x(4096, 8192)                                      # reads chunks 2 and 3 (and 1)
"""

from __future__ import annotations

import collections
from typing import Protocol

import numpy as np

from envs import memory_inputs
from learner.memup.inputs.columns import EpisodeColumns, episode_columns
from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import EpisodeLike
from memup_module import TargetCodec, episode_targets
from trajectory_store import EpisodeNotFoundError, InvalidEpisodeError

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
GONE = (EpisodeNotFoundError, InvalidEpisodeError)
"""What a chunk read raises when the episode was evicted since it was sampled, or found
corrupt (the store has quarantined it): the learner drops the episode, or ends its slot."""
_CACHED_CHUNKS = 3  # a slot window spans two chunks, plus the step before it


class ChunkReader(Protocol):
    """What the learner needs of `trajectory_store.StreamedEpisode`."""

    @property
    def length(self) -> int: ...

    @property
    def obs_dim(self) -> int: ...

    @property
    def chunk_rows(self) -> int: ...

    def read_chunk(self, i: int) -> Columns: ...

    def chunks(self): ...


class ChunkedColumns:
    """`EpisodeColumns` of a stored episode: classes held, obs/action/reward read by chunk."""

    def __init__(self, reader: ChunkReader, classes: np.ndarray, num_actions: int) -> None:
        self._reader, self.classes, self.num_actions = reader, classes, num_actions
        self._cache: collections.OrderedDict[int, Columns] = collections.OrderedDict()
        self.gone = False

    @property
    def length(self) -> int:
        return len(self.classes)

    @property
    def obs_dim(self) -> int:
        return self._reader.obs_dim

    def _chunk(self, i: int) -> Columns:
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        self._cache[i] = self._read(i)
        while len(self._cache) > _CACHED_CHUNKS:
            self._cache.popitem(last=False)
        return self._cache[i]

    def _read(self, i: int) -> Columns:
        try:
            return self._reader.read_chunk(i)
        except GONE:
            self.gone = True
            raise

    def _steps(self, start: int, stop: int) -> Columns:
        rows = self._reader.chunk_rows
        parts = [self._chunk(c) for c in range(start // rows, -(-stop // rows))]
        offset = start // rows * rows
        return tuple(np.concatenate([p[k] for p in parts])[start - offset:stop - offset]
                     if len(parts) > 1 else parts[0][k][start - offset:stop - offset]
                     for k in range(3))  # type: ignore[return-value]

    def x(self, start: int, stop: int) -> np.ndarray:
        """As `EpisodeColumns.x`."""
        first = max(start - 1, 0)
        obs, action, reward = self._steps(first, stop)
        return memory_inputs(obs, action, reward, self.num_actions)[start - first:]

    def context(self, start: int, stop: int) -> np.ndarray:
        obs, action, _ = self._steps(start, stop)
        context = np.zeros((stop - start, self.obs_dim + self.num_actions), np.float32)
        context[:, :self.obs_dim] = obs
        context[np.arange(stop - start), self.obs_dim + action] = 1.0
        return context

    def context_at(self, steps: np.ndarray) -> np.ndarray:
        """As `EpisodeColumns.context_at`: any steps, each chunk read once."""
        context = np.zeros((len(steps), self.obs_dim + self.num_actions), np.float32)
        rows = self._reader.chunk_rows
        for c in np.unique(steps // rows).tolist():
            at = np.flatnonzero(steps // rows == c)
            obs, action, _ = self._chunk(c)
            local = steps[at] - c * rows
            context[at, :self.obs_dim] = obs[local]
            context[at, self.obs_dim + action[local]] = 1.0
        return context

    def values(self, config: MemUPConfig) -> np.ndarray:
        """f_t of every step (whole: only the "ema_error" score reads it, a batch at a time)."""
        return episode_targets(self.reward, config.target, config.gamma)

    def arrays(self) -> Columns:
        """(obs, action, reward) of the whole episode, each chunk read once (checkpoints
        only: they save the slots' episodes)."""
        parts = [self._read(i) for i in range(-(-self.length // self._reader.chunk_rows))]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]

    @property
    def reward(self) -> np.ndarray:
        return self.arrays()[2]

    def release(self) -> None:
        """Drops the cached chunks (an episode waiting in a queue holds only its classes)."""
        self._cache.clear()

    @property
    def nbytes(self) -> int:
        return self.classes.nbytes + sum(a.nbytes for c in self._cache.values() for a in c)


def streamed_columns(reader: ChunkReader, config: MemUPConfig, codec: TargetCodec) -> ChunkedColumns:
    """Checks a streamed episode as `episode_columns` checks a whole one (the store's decoder
    has checked types, shapes and finiteness of every chunk, and the return) and encodes f_t."""
    memory = config.memory
    if reader.obs_dim != memory.obs_dim:
        raise ValueError(f"episode obs must be [T, {memory.obs_dim}], got obs_dim {reader.obs_dim}")
    classes = np.empty(reader.length, np.min_scalar_type(max(codec.num_classes - 1, 0)))
    rewards = []  # kept only for returns, which run backwards over the whole episode
    start = 0
    for _, action, reward in reader.chunks():
        if action.min() < 0 or action.max() >= memory.num_actions:
            raise ValueError(f"episode actions must lie in [0, {memory.num_actions})")
        if config.target == "reward":
            classes[start:start + len(reward)] = codec.encode(episode_targets(reward, "reward", 0.0))
        else:
            rewards.append(reward)
        start += len(reward)
    if rewards:
        classes[:] = codec.encode(episode_targets(np.concatenate(rewards), config.target, config.gamma))
    return ChunkedColumns(reader, classes, memory.num_actions)


def any_columns(episode: EpisodeLike | ChunkReader, config: MemUPConfig, codec: TargetCodec
                ) -> EpisodeColumns | ChunkedColumns | None:
    """Columns of a whole episode or of a streamed one; None for a streamed one that was
    evicted since it was sampled, or found corrupt (the store quarantined it): skip it."""
    if not hasattr(episode, "read_chunk"):
        return episode_columns(episode, config, codec)
    try:
        return streamed_columns(episode, config, codec)  # type: ignore[arg-type]
    except GONE:
        return None
