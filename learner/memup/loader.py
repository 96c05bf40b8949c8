"""Episodes on their way into the slots: scored by the detector, with their targets U_t.

Scoring is one batched pass over at least `batch` episodes (the detector and the selector run
once per batch, not once per finished slot); the scored episodes wait in a small ready queue.
An episode's scores are therefore those of the detector at most one batch of refills old.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

import torch

from learner.memup.prefetch import Prefetcher
from learner.memup.prepared import EpisodeBatch, PreparedEpisode, pad_episodes
from memup_module import select_targets

Scorer = Callable[[EpisodeBatch], torch.Tensor]
"""Padded episodes -> uncertainty scores [N, T] (the detector of the moment)."""


@dataclasses.dataclass(frozen=True)
class ScoredEpisode:
    """One episode's training tensors, trimmed to its length T."""

    x: torch.Tensor  # [T, x_dim]
    context: torch.Tensor  # [T, F]
    classes: torch.Tensor  # [T]
    targets: torch.Tensor  # [T, K1] steps of U_t
    target_valid: torch.Tensor  # [T, K1]

    @property
    def length(self) -> int:
        return len(self.classes)


class EpisodeLoader:
    def __init__(self, prefetcher: Prefetcher[PreparedEpisode], device: torch.device,
                 top_k: int, include_self: bool, batch: int) -> None:
        self._prefetcher, self._device = prefetcher, device
        self._top_k, self._include_self, self._batch = top_k, include_self, batch
        self._pending: list[PreparedEpisode] = []
        self._ready: collections.deque[ScoredEpisode] = collections.deque()

    def prepared(self, n: int) -> list[PreparedEpisode]:
        """`n` unscored episodes; they are also the next ones `take` scores (detector warm-up
        trains on them before the first slots are filled)."""
        self._pending += self._prefetcher.get(max(n - len(self._pending), 0))
        return list(self._pending[:n])

    def take(self, n: int, score: Scorer) -> list[ScoredEpisode]:
        if len(self._ready) < n:
            wanted = max(n - len(self._ready), self._batch)
            episodes = self._pending + self._prefetcher.get(max(wanted - len(self._pending), 0))
            self._pending = []
            self._ready.extend(self._score(episodes, score))
        return [self._ready.popleft() for _ in range(n)]

    def clear(self) -> None:
        """Drops scored episodes (after a restore their scores belong to another detector)."""
        self._ready.clear()

    def _score(self, episodes: list[PreparedEpisode], score: Scorer) -> list[ScoredEpisode]:
        batch = pad_episodes(episodes, self._device)
        targets, valid = select_targets(score(batch), batch.lengths, self._top_k,
                                        self._include_self)
        return [ScoredEpisode(batch.x[i, :n], batch.context[i, :n], batch.classes[i, :n],
                              targets[i, :n], valid[i, :n])
                for i, n in enumerate(batch.lengths.tolist())]
