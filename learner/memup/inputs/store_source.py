"""A trajectory store as the learner's episode source: long episodes streamed, not fetched whole.

`TrajectoryStore.sample` decodes each sampled episode whole; `sample_streamed` returns long ones
as `StreamedEpisode`s that the learner reads a chunk at a time (`streamed_columns.py`), so the
prefetch queue, the ready queue and the slots hold per step only f_t's class and U_t's codes,
never the episode's columns (docs/design.md §13). Any other source is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learner.memup.inputs.episodes import EpisodeSource

INLINE_BYTES = 1 << 16
"""Blobs up to this size (a T-Maze episode of ~3000 steps) are fetched and decoded whole."""


class StreamedStoreSource:
    """`sample(n)` of a store through its `sample_streamed`."""

    def __init__(self, store: Any, inline_bytes: int = INLINE_BYTES) -> None:
        self.store, self.inline_bytes = store, inline_bytes

    def sample(self, n: int, timeout_s: float | None = None) -> Sequence[Any]:
        return self.store.sample_streamed(n, timeout_s=timeout_s, inline_bytes=self.inline_bytes)


def streaming(source: EpisodeSource) -> EpisodeSource:
    """`source` itself, or a `StreamedStoreSource` over it when it can stream episodes."""
    return StreamedStoreSource(source) if hasattr(source, "sample_streamed") else source
