"""Episodes sampled and prepared on a background thread, so the learner never waits on I/O.

The thread calls `source.sample(batch)` and `prepare(episode)` (numpy work, including decoding
checks) and queues the results; `get(n)` hands them out in the order sampled. `prepare`
returns None for an episode to skip (one streamed from the store and evicted or quarantined
meanwhile). An error on the thread (a store timeout, a bad episode) is re-raised by the next
`get`. With `capacity == 0` everything happens synchronously inside `get` (the serial mode
the unit tests use).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from learner.memup.inputs.episodes import EpisodeLike, EpisodeSource

T = TypeVar("T")
_POLL_S = 0.1


class Prefetcher(Generic[T]):
    def __init__(self, source: EpisodeSource, prepare: Callable[[EpisodeLike], T | None],
                 capacity: int, batch: int) -> None:
        self._source, self._prepare, self._batch = source, prepare, batch
        self._queue: queue.Queue = queue.Queue(maxsize=max(capacity, 1))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if capacity > 0:
            self._thread = threading.Thread(target=self._run, name="memup-prefetch", daemon=True)
            self._thread.start()

    def _put(self, entry: tuple) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for episode in self._source.sample(self._batch):
                    prepared = self._prepare(episode)
                    if prepared is not None:
                        self._put(("ok", prepared))
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put(("error", error))

    def get(self, n: int) -> list[T]:
        """The next `n` prepared episodes (blocks until they are ready)."""
        if self._thread is None:
            items: list[T] = []
            while len(items) < n:
                wanted = min(self._batch, n - len(items))
                prepared = [self._prepare(e) for e in self._source.sample(wanted)]
                items += [item for item in prepared if item is not None]
            return items
        items = []
        while len(items) < n:
            try:
                kind, item = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("the episode prefetch thread stopped") from None
                continue
            if kind == "error":
                self.close()
                raise RuntimeError(f"episode prefetch failed: {item}") from item
            items.append(item)
        return items

    def close(self) -> None:
        """Stops the thread (it finishes at most the sample call it is in)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
