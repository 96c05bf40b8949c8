"""Episodes on their way into the slots: scored by the detector, with their targets U_t.

Scoring is one batched pass over at least `batch` episodes (the detector and the selector run
once per batch, not once per finished slot); the scored episodes wait in a small ready queue.
An episode's scores are therefore those of the detector at most one batch of refills old.

The pass streams (docs/design.md §13): the detector sees the batch `TIME_CHUNK` steps at a time,
built from the raw columns, and the suffix top-K sweep runs over each episode part by part
from the end. What stays is compact: per step the top-K part of U_t as 16-bit codes relative
to the step's chunk (`chunk_targets.py`), per chunk the K steps after it that its steps may
target, with their context and class.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterator

import numpy as np
import torch

from learner.memup.inputs.chunk_targets import ChunkTargets, encode_targets
from learner.memup.inputs.columns import EpisodeColumns
from learner.memup.inputs.prefetch import Prefetcher
from learner.memup.inputs.streamed_columns import GONE
from memup_module import TIME_CHUNK, stream_targets

BLOCK_ROWS = 8192
"""Most (episode, step) rows per scoring block: the detector's activations are this many rows
wide, so N x TIME_CHUNK rows (64 episodes: ~130 MB of temporaries) never occur at once."""


@dataclasses.dataclass(frozen=True)
class Block:
    """Steps start .. stop - 1 of N episodes, zero-padded past each one's length."""

    start: int
    x: torch.Tensor  # [N, t, x_dim]
    context: torch.Tensor  # [N, t, F]
    classes: torch.Tensor  # [N, t] long
    values: torch.Tensor | None  # [N, t] f_t (built only when asked for)


class StreamedBatch:
    """N episodes seen block by block, as if padded to the longest (`horizon`) steps."""

    def __init__(self, episodes: list[EpisodeColumns], device: torch.device) -> None:
        self.episodes, self.device = episodes, device
        self.horizon = max(e.length for e in episodes)
        self.shape = torch.Size((len(episodes), self.horizon))

    def block_steps(self) -> int:
        """Steps per block: TIME_CHUNK, fewer when the batch is wide (BLOCK_ROWS rows)."""
        return max(1, min(TIME_CHUNK, BLOCK_ROWS // len(self.episodes)))

    def blocks(self, steps: int | None = None,
               values: Callable[[EpisodeColumns], np.ndarray] | None = None) -> Iterator[Block]:
        """The blocks in order (`steps` long, default `block_steps()`); `values(episode)` gives
        f_t when a score needs it (whole episodes, one batch at a time)."""
        steps = steps or self.block_steps()
        all_values = None if values is None else [values(e) for e in self.episodes]
        first = self.episodes[0]
        x_dim, f_dim = first.obs_dim + first.num_actions + 1, first.obs_dim + first.num_actions
        for start in range(0, self.horizon, steps):
            stop = min(start + steps, self.horizon)
            n = (len(self.episodes), stop - start)
            x, context = np.zeros((*n, x_dim), np.float32), np.zeros((*n, f_dim), np.float32)
            classes = np.zeros(n, np.int64)
            block_values = np.zeros(n, np.float32) if all_values is not None else None
            for i, e in enumerate(self.episodes):
                end = min(stop, e.length)
                if end <= start:
                    continue
                x[i, :end - start], context[i, :end - start] = e.x(start, end), e.context(
                    start, end)
                classes[i, :end - start] = e.classes[start:end]
                if block_values is not None:
                    block_values[i, :end - start] = all_values[i][start:end]
            yield Block(start, *(None if a is None else torch.from_numpy(a).to(self.device)
                                 for a in (x, context, classes, block_values)))


Scorer = Callable[[StreamedBatch], torch.Tensor]
"""Episodes streamed block by block -> uncertainty scores [N, horizon] (the detector of the
moment)."""


@dataclasses.dataclass(frozen=True)
class ScoredEpisode:
    """One episode ready for a slot: its columns and its targets U_t, chunk by chunk."""

    columns: EpisodeColumns
    targets: ChunkTargets

    @property
    def length(self) -> int:
        return self.columns.length


class EpisodeLoader:
    def __init__(self, prefetcher: Prefetcher[EpisodeColumns], device: torch.device,
                 top_k: int, batch: int, chunk_steps: int) -> None:
        self._prefetcher, self._device = prefetcher, device
        self._top_k, self._batch, self._chunk_steps = top_k, batch, chunk_steps
        self._pending: list[EpisodeColumns] = []
        self._ready: collections.deque[ScoredEpisode] = collections.deque()

    def prepared(self, n: int) -> list[EpisodeColumns]:
        """`n` unscored episodes; they are also the next ones `take` scores (detector warm-up
        trains on them before the first slots are filled)."""
        self._pending += self._prefetcher.get(max(n - len(self._pending), 0))
        return list(self._pending[:n])

    def take(self, n: int, score: Scorer) -> list[ScoredEpisode]:
        while len(self._ready) < n:
            wanted = max(n - len(self._ready), self._batch)
            episodes = self._pending + self._prefetcher.get(max(wanted - len(self._pending), 0))
            self._pending = []
            self._ready.extend(self._score_readable(episodes, score))
        return [self._ready.popleft() for _ in range(n)]

    def clear(self) -> None:
        """Drops scored episodes (after a restore their scores belong to another detector)."""
        self._ready.clear()

    def _score_readable(self, episodes: list[EpisodeColumns], score: Scorer) -> list[ScoredEpisode]:
        """Scores the episodes that can still be read: one streamed from the store may have
        been evicted (or found corrupt and quarantined) since it was sampled."""
        while episodes:
            try:
                return self._score(episodes, score)
            except GONE:
                readable = [e for e in episodes if not e.gone]
                if len(readable) == len(episodes):
                    raise
                episodes = readable
        return []

    def _score(self, episodes: list[EpisodeColumns], score: Scorer) -> list[ScoredEpisode]:
        batch = StreamedBatch(episodes, self._device)
        scores = score(batch)
        scored = []
        for i, episode in enumerate(episodes):
            indices, valid = stream_targets(scores[i, :episode.length], self._top_k,
                                            horizon=batch.horizon)
            targets = encode_targets(episode, indices.cpu().numpy(), valid.cpu().numpy(),
                                     self._chunk_steps)
            scored.append(ScoredEpisode(episode, targets))
        for episode in episodes:
            episode.release()
        return scored
