"""Every error the trajectory store raises; each message says what to change."""

from __future__ import annotations

from collections.abc import Sequence


class InvalidEpisodeError(ValueError):
    """An episode (built in memory or decoded from bytes) breaks the episode contract."""


class StoreError(Exception):
    """Base class of the store's own errors (not raised directly)."""


class StoreConnectionError(StoreError, ConnectionError):
    """Redis could not be reached, or the connection was lost. Names host:port, never the password."""


class StoreAuthError(StoreConnectionError):
    """Redis answered but refused the credentials in the URL."""


class StoreConfigError(StoreError, ValueError):
    """A store setting is invalid, or disagrees with the settings the store was created with."""


class EmbeddedRedisError(StoreError, RuntimeError):
    """The embedded redis-server could not be started; the message ends with its log."""


class EpisodeNotFoundError(StoreError, KeyError):
    """`get` asked for ids the store does not hold (never inserted, evicted or quarantined)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class SampleTimeoutError(StoreError, TimeoutError):
    """`sample` waited `timeout_s` without getting enough episodes.

    `episodes` holds those it did draw before the deadline (already counted as sampled).
    """

    def __init__(self, message: str, episodes: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.episodes = list(episodes)


class RateLimitTimeout(StoreError, TimeoutError):
    """`insert` waited `timeout_s` for the sampler to catch up (back-pressure).

    `inserted_ids` lists the episodes of the batch that were committed before the deadline;
    the rest were not written, so the caller can retry exactly those.
    """

    def __init__(self, message: str, inserted_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.inserted_ids = list(inserted_ids)
