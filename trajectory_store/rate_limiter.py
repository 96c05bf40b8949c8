"""Reverb's SampleToInsertRatio, counted in episodes, plus the back-off both sides poll with.

With `samples_per_insert = s`, `min_size_to_sample = m` and `rate_tolerance = e`, the store keeps
`diff = inserted * s - sampled` inside `[m*s - e, m*s + e]`:
  - an insert waits while it would push `diff` above the upper bound (the sampler is behind),
    except that inserts are always allowed until `m` episodes are stored;
  - a sample waits while it would push `diff` below the lower bound (the sampler runs ahead),
    and always until `m` episodes are stored.
The counters live in Redis and the decision is taken inside the insert and sample scripts
(`lua_scripts.py`), so collectors and learners in different processes share one limiter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from trajectory_store.config import StoreConfig


@dataclass(frozen=True)
class RateLimiter:
    samples_per_insert: float | None
    min_size_to_sample: int
    tolerance: float

    @classmethod
    def from_config(cls, config: StoreConfig) -> RateLimiter:
        return cls(config.samples_per_insert, config.min_size_to_sample, config.rate_tolerance)

    @property
    def enabled(self) -> bool:
        return self.samples_per_insert is not None

    @property
    def _offset(self) -> float:
        return (self.samples_per_insert or 0.0) * self.min_size_to_sample

    @property
    def min_diff(self) -> float:
        return self._offset - self.tolerance

    @property
    def max_diff(self) -> float:
        return self._offset + self.tolerance

    def script_args(self) -> list[float]:
        """min_size, spi (0: off), min_diff, max_diff, as the Lua scripts read them."""
        return [self.min_size_to_sample, self.samples_per_insert or 0.0, self.min_diff, self.max_diff]

    def explain(self, size: int, inserted: int, sampled: int) -> str:
        """The limiter's state in words, for timeout messages."""
        if not self.enabled:
            return f"{size} episodes stored, min_size_to_sample={self.min_size_to_sample}"
        diff = inserted * (self.samples_per_insert or 0.0) - sampled
        return (
            f"{size} episodes stored (min_size_to_sample={self.min_size_to_sample}), inserted={inserted}, "
            f"sampled={sampled}: inserted*samples_per_insert - sampled = {diff:g} must stay within "
            f"[{self.min_diff:g}, {self.max_diff:g}] (samples_per_insert={self.samples_per_insert:g}, "
            f"rate_tolerance={self.tolerance:g})"
        )


class Backoff:
    """Sleeps 1 ms, 2 ms, 4 ms ... up to `cap_s` between polls, never past a deadline."""

    def __init__(self, cap_s: float = 0.05) -> None:
        self._cap_s = cap_s
        self._delay_s = 0.001

    def reset(self) -> None:
        self._delay_s = 0.001

    def sleep(self, deadline: float) -> None:
        time.sleep(max(0.0, min(self._delay_s, deadline - time.monotonic())))
        self._delay_s = min(self._delay_s * 2, self._cap_s)


def deadline_after(timeout_s: float | None) -> float:
    """A time.monotonic() deadline; None waits forever."""
    return float("inf") if timeout_s is None else time.monotonic() + timeout_s
