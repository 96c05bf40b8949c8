"""`StoreConfig`: how episodes enter, leave and are rationed, stated in one frozen dataclass."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import redis

from envs.validation import is_int, is_real, require_real

from trajectory_store.codec import COMPRESSIONS, Compression
from trajectory_store.episode import DEFAULT_MAX_EPISODE_LENGTH
from trajectory_store.errors import StoreConfigError

# Settings that define the table itself; every process attached to one store must agree on them
# (max_episode_length too: a reader with a lower limit would quarantine valid episodes).
TABLE_FIELDS = (
    "capacity_steps",
    "capacity_episodes",
    "min_size_to_sample",
    "samples_per_insert",
    "rate_tolerance",
    "max_episode_length",
)


@dataclass(frozen=True)
class StoreConfig:
    """Settings of one trajectory store (a Reverb table, in Reverb's words)."""

    capacity_steps: int
    """Most env steps held; past it the oldest whole episodes are evicted (FIFO)."""
    capacity_episodes: int | None = None
    """Most episodes held (None: only `capacity_steps` bounds the store)."""
    min_size_to_sample: int = 1
    """`sample` waits until at least this many episodes are stored."""
    samples_per_insert: float | None = None
    """Target ratio of sampled to inserted episodes (None: no rate limiting)."""
    rate_tolerance: float = 64.0
    """How far, in sampled episodes, the ratio may drift before insert or sample waits."""
    compression: Compression = "lz4"
    """Arrow IPC buffer compression of stored blobs: None, "lz4" or "zstd"."""
    max_episode_length: int = DEFAULT_MAX_EPISODE_LENGTH
    """Longest episode accepted on insert and decoded on read (a guard against hostile blobs)."""
    sample_timeout_s: float = 60.0
    """Default time `sample` waits for enough episodes or for the rate limiter."""
    insert_timeout_s: float | None = None
    """Default time `insert` waits under back-pressure (None: wait as long as it takes)."""

    def __post_init__(self) -> None:
        _positive_int("capacity_steps", self.capacity_steps, "the number of env steps the store may hold")
        if self.capacity_episodes is not None:
            _positive_int("capacity_episodes", self.capacity_episodes, "None or a positive episode count")
        _positive_int("min_size_to_sample", self.min_size_to_sample, "at least 1")
        _positive_int("max_episode_length", self.max_episode_length, "the longest episode you will insert")
        if self.capacity_episodes is not None and self.capacity_episodes < self.min_size_to_sample:
            raise StoreConfigError(
                f"capacity_episodes={self.capacity_episodes} < min_size_to_sample={self.min_size_to_sample}: "
                "sampling could never start; raise capacity_episodes or lower min_size_to_sample"
            )
        if self.capacity_steps < self.min_size_to_sample:
            raise StoreConfigError(
                f"capacity_steps={self.capacity_steps} cannot hold min_size_to_sample="
                f"{self.min_size_to_sample} episodes; raise capacity_steps"
            )
        if self.compression not in COMPRESSIONS:
            raise StoreConfigError(f"compression must be one of {COMPRESSIONS}, got {self.compression!r}")
        require_real("sample_timeout_s", self.sample_timeout_s, 0.0, open_low=True,
                     error=StoreConfigError)
        if self.insert_timeout_s is not None and not (is_real(self.insert_timeout_s)
                                                      and self.insert_timeout_s >= 0):
            raise StoreConfigError(f"insert_timeout_s must be None or >= 0, got {self.insert_timeout_s!r}")
        require_real("rate_tolerance", self.rate_tolerance, 0.0, open_low=True,
                     error=StoreConfigError)
        object.__setattr__(self, "rate_tolerance", float(self.rate_tolerance))
        if self.samples_per_insert is not None:
            require_real("samples_per_insert", self.samples_per_insert, 0.0, open_low=True,
                         error=StoreConfigError)
            object.__setattr__(self, "samples_per_insert", float(self.samples_per_insert))
            if self.rate_tolerance < max(1.0, self.samples_per_insert):
                raise StoreConfigError(
                    f"rate_tolerance={self.rate_tolerance} must be >= max(1, samples_per_insert="
                    f"{self.samples_per_insert}), otherwise inserts and samples could both be blocked forever"
                )

    def table_settings(self) -> dict[str, Any]:
        """The settings every process attached to the same store must share."""
        values = asdict(self)
        return {name: values[name] for name in TABLE_FIELDS}


def _positive_int(name: str, value: object, hint: str) -> None:
    if not is_int(value) or value < 1:
        raise StoreConfigError(f"{name} must be a positive int, got {value!r}; set it to {hint}")


def attach_table(client: redis.Redis, key: str, config: StoreConfig | None, *, where: str) -> StoreConfig:
    """Records `config`'s table settings under `key` on first use; later users must agree.

    With `config=None`, returns a config with the recorded table settings (attach mode).
    """
    if config is not None:
        client.set(key, json.dumps(config.table_settings()), nx=True)
    raw = client.get(key)
    if raw is None:
        raise StoreConfigError(
            f"{where} does not exist; pass capacity_steps (and the other table settings) to create it"
        )
    try:
        stored = json.loads(raw)
        recorded = StoreConfig(**{k: v for k, v in stored.items() if k in TABLE_FIELDS})
    except (ValueError, TypeError, AttributeError) as exc:
        raise StoreConfigError(f"{where} has unreadable settings ({exc}); delete() the store") from None
    if config is None:
        return recorded
    have, wanted = recorded.table_settings(), config.table_settings()
    diffs = [f"{k}={have[k]!r} (you passed {v!r})" for k, v in wanted.items() if have[k] != v]
    if diffs:
        raise StoreConfigError(
            f"{where} was created with {', '.join(diffs)}; pass the same {', '.join(TABLE_FIELDS)}, "
            "attach without them (capacity_steps=None), or delete() the store first"
        )
    return config
