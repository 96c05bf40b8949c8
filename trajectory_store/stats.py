"""`StoreStats`: one consistent snapshot of a store's counters."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

RATE_WINDOW_S = 10  # the insert-rate ring in Redis holds this many one-second buckets
_BY_POLICY = "inserted:"  # prefix of the per-policy insert counters (trajectory_store.lua_scripts)


@dataclass(frozen=True)
class StoreStats:
    episodes: int
    """Episodes stored now."""
    steps: int
    """Env steps stored now."""
    bytes: int
    """Encoded bytes stored now (blobs only)."""
    inserted: int
    """Episodes ever inserted (not reduced by eviction)."""
    inserted_steps: int
    """Env steps ever inserted."""
    evicted: int
    """Episodes removed by FIFO eviction."""
    sampled: int
    """Episodes handed out by `sample` (each draw counts, as the rate limiter counts them)."""
    quarantined: int
    """Blobs that failed to decode and were moved to quarantine."""
    insert_rate_episodes: float
    """Episodes inserted per second over the last RATE_WINDOW_S seconds."""
    insert_rate_steps: float
    """Env steps inserted per second over the last RATE_WINDOW_S seconds."""
    inserted_by_policy: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Episodes ever inserted, per behaviour policy id (the store's mix of behaviours)."""

    def as_metrics(self) -> dict[str, float]:
        """Namespaced for logging: {"store/episodes": ..., "store/insert_rate_steps": ...}."""
        figures = {f"store/{k}": float(v) for k, v in dataclasses.asdict(self).items()
                   if k != "inserted_by_policy"}
        figures.update({f"store/inserted_by_policy/{policy}": float(count)
                        for policy, count in self.inserted_by_policy.items()})
        return figures

    @classmethod
    def from_redis(cls, counters: Mapping[bytes, bytes], rate: Mapping[bytes, bytes], now_s: int) -> StoreStats:
        """Builds the snapshot from HGETALL of the counters and rate hashes and the server's TIME."""

        def count(name: str) -> int:
            return int(float(counters.get(name.encode(), b"0")))

        episodes = steps = 0
        for bucket in rate.values():
            second, eps, stp = (int(x) for x in bucket.split())
            if now_s - RATE_WINDOW_S < second <= now_s:
                episodes, steps = episodes + eps, steps + stp
        return cls(
            episodes=count("episodes"),
            steps=count("steps"),
            bytes=count("bytes"),
            inserted=count("inserted"),
            inserted_steps=count("inserted_steps"),
            evicted=count("evicted"),
            sampled=count("sampled"),
            quarantined=count("quarantined"),
            insert_rate_episodes=episodes / RATE_WINDOW_S,
            insert_rate_steps=steps / RATE_WINDOW_S,
            inserted_by_policy={key.decode()[len(_BY_POLICY):]: int(value)
                                for key, value in counters.items()
                                if key.startswith(_BY_POLICY.encode())},
        )
