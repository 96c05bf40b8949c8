"""`TrajectoryStore`: complete episodes in Redis, inserted atomically, sampled uniformly.

    store = TrajectoryStore.connect(url, "tmaze-1000", capacity_steps=2_000_000,
                                    min_size_to_sample=64, samples_per_insert=4.0)
    store.insert(episodes)           # collectors; waits while the learner is too far behind
    batch = store.sample(64)         # learner; waits for min_size and for the rate limiter
    store.stats().as_metrics()       # {"store/episodes": ..., "store/insert_rate_steps": ...}

Semantics (Reverb-like): a table of whole episodes with FIFO eviction past `capacity_steps` /
`capacity_episodes`, a uniform sampler (with replacement) and a SampleToInsertRatio rate
limiter (`rate_limiter.py`). Each insert, eviction and quarantine is one Lua script call
(`lua_scripts.py`), so readers in any process never see half of one.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import redis

from trajectory_store.batching import encode_for_store, next_chunk, prepare
from trajectory_store.codec import EncodedEpisode
from trajectory_store.config import TABLE_FIELDS, StoreConfig, attach_table
from trajectory_store.episode import Episode
from trajectory_store.errors import (
    EpisodeNotFoundError,
    InvalidEpisodeError,
    RateLimitTimeout,
    SampleTimeoutError,
    StoreConfigError,
)
from trajectory_store.export import write_parquet
from trajectory_store.lua_scripts import Scripts, StoreKeys
from trajectory_store.quarantine import QuarantiningDecoder
from trajectory_store.rate_limiter import Backoff, RateLimiter, deadline_after
from trajectory_store.redis_client import (
    DEFAULT_CONNECT_TIMEOUT_S,
    connect_redis,
    endpoint_of_client,
    redis_errors,
)
from trajectory_store.stats import StoreStats
from trajectory_store.streamed import StreamedEpisode, open_streamed

_MAX_DRAWS_PER_CALL = 256  # keeps each sample script call short, so Redis stays responsive


class TrajectoryStore:
    """A named store of complete episodes on one Redis server (see the module docstring).

    Args:
        client: a redis-py client (binary replies); injectable so tests reach every path.
        name: the store's name; stores with different names on one server never share data.
        config: the store's settings; None attaches to an existing store with its own settings.
        seed: seeds the sampler's uniform draws (reproducible sampling from a fixed store).
    """

    def __init__(
        self, client: redis.Redis, name: str, config: StoreConfig | None = None, *, seed: int | None = None
    ) -> None:
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the Redis client must return bytes: create it with decode_responses=False")
        self._client = client
        self._keys = StoreKeys(name)
        self._endpoint = endpoint_of_client(client)
        self._scripts = Scripts.register(client)
        where = f"store {name!r} on {self._endpoint}"
        with redis_errors(self._endpoint):
            config = attach_table(client, self._keys.config, config, where=where)
        self._use(config)
        self._rng = np.random.default_rng(seed)
        self._owns_client = False

    def _use(self, config: StoreConfig) -> None:
        """Derives everything that depends on the settings, in one place."""
        self.config = config
        self._limiter = RateLimiter.from_config(config)
        self._decoder = QuarantiningDecoder(self._scripts, self._keys, config.max_episode_length)

    @classmethod
    def connect(
        cls,
        url: str,
        name: str,
        *,
        seed: int | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        **settings: Any,
    ) -> TrajectoryStore:
        """Connects to `url` and creates store `name` with `StoreConfig(**settings)`, or attaches
        to it when `capacity_steps` is not given.

        Attaching adopts the table settings the store was created with (`config.TABLE_FIELDS`);
        compression and the timeouts apply to this client either way.
        """
        fields = {f.name: f for f in dataclasses.fields(StoreConfig)}
        unknown = sorted(set(settings) - set(fields))
        if unknown:
            raise StoreConfigError(f"{unknown[0]} is not a store setting (StoreConfig has "
                                   f"{', '.join(fields)})")
        if settings.get("capacity_steps") is not None:
            return cls.from_config(url, name, StoreConfig(**settings), seed=seed,
                                   connect_timeout_s=connect_timeout_s)
        settings.pop("capacity_steps", None)
        changed = [k for k in TABLE_FIELDS if k in settings and settings[k] != fields[k].default]
        if changed:
            raise StoreConfigError(f"{changed} only take effect when creating a store: pass capacity_steps too")
        store = cls.from_config(url, name, None, seed=seed, connect_timeout_s=connect_timeout_s)
        client_side = {k: v for k, v in settings.items() if k not in TABLE_FIELDS}
        store._use(dataclasses.replace(store.config, **client_side))
        return store

    @classmethod
    def from_config(
        cls,
        url: str,
        name: str,
        config: StoreConfig | None,
        *,
        seed: int | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> TrajectoryStore:
        client = connect_redis(url, connect_timeout_s=connect_timeout_s)
        try:
            store = cls(client, name, config, seed=seed)
        except BaseException:
            client.close()
            raise
        store._owns_client = True
        return store

    @property
    def name(self) -> str:
        return self._keys.name

    # -- writing ---------------------------------------------------------------------------

    def encode(self, episode: Episode) -> EncodedEpisode:
        """Validates and encodes one episode for `insert` (thread-safe, touches no server)."""
        return encode_for_store(episode, self.config)

    def insert(
        self, episodes: Iterable[Episode | EncodedEpisode], *, timeout_s: float | None = None
    ) -> list[str]:
        """Writes whole episodes; returns their ids in order. Each is atomic with its evictions.

        Every episode is validated before anything is sent: an invalid one raises
        `InvalidEpisodeError` and nothing of the batch is written. Under back-pressure waits up
        to `timeout_s` (None: `config.insert_timeout_s`; 0: do not wait), then raises
        `RateLimitTimeout`, whose `inserted_ids` lists what was committed. Retrying an insert
        is harmless: ids the store already holds are skipped.
        """
        items = [prepare(e, self.config) for e in episodes]
        wait_s = self.config.insert_timeout_s if timeout_s is None else timeout_s
        deadline, backoff, done = deadline_after(wait_s), Backoff(), 0
        head = [self.config.capacity_steps, self.config.capacity_episodes or 0, *self._limiter.script_args()]
        with redis_errors(self._endpoint):
            while done < len(items):
                chunk = next_chunk(items, done)
                args = list(head)
                for item in chunk:
                    args += [item.episode_id, item.length, item.policy_id, item.blob]
                handled, _evicted = self._scripts.insert(keys=self._keys.data, args=args)
                done += int(handled)
                if handled == len(chunk):
                    backoff.reset()
                    continue
                if time.monotonic() >= deadline:
                    raise RateLimitTimeout(
                        f"insert into store {self.name!r} waited {wait_s} s for the sampler to catch up; "
                        f"{done} of {len(items)} episodes written. {self._explain()}",
                        [item.episode_id for item in items[:done]],
                    )
                backoff.sleep(deadline)
        return [item.episode_id for item in items]

    def can_insert(self) -> bool:
        """Whether the rate limiter would take one more episode now (a hint: others may race)."""
        with redis_errors(self._endpoint):
            return bool(self._probe()[3])

    # -- reading ---------------------------------------------------------------------------

    def sample(self, n: int, *, timeout_s: float | None = None) -> list[Episode]:
        """`n` episodes drawn uniformly, with replacement, from those stored now.

        Waits until `min_size_to_sample` episodes are stored and the rate limiter allows; after
        `timeout_s` (None: `config.sample_timeout_s`) raises `SampleTimeoutError` saying why.
        Undecodable blobs are quarantined and replaced by fresh draws.
        """
        return self._sample(n, timeout_s, -1, lambda triples: self._decoder.decode(
            [(raw_id, blob) for raw_id, blob, _ in triples], refund_per_draw=1))

    def sample_streamed(self, n: int, *, timeout_s: float | None = None,
                        inline_bytes: int = 1 << 16) -> list[Episode | StreamedEpisode]:
        """As `sample`, but a blob larger than `inline_bytes` is not transferred: it comes back
        as a `StreamedEpisode`, read a chunk (record batch) at a time when asked, so a reader
        holds O(chunk) bytes of it, not O(episode) (docs/design.md §13)."""
        return self._sample(n, timeout_s, inline_bytes, self._open_streamed)

    def _open_streamed(self, triples: list[tuple[bytes, bytes | None, bytes | None]]
                       ) -> list[Episode | StreamedEpisode]:
        out: list[Episode | StreamedEpisode] = []
        inline = [(raw_id, blob) for raw_id, blob, entry in triples if blob is not None or entry is None]
        out += self._decoder.decode(inline, refund_per_draw=1)
        for raw_id, blob, entry in triples:
            if blob is not None or entry is None:
                continue
            try:
                out.append(open_streamed(raw_id, int(entry.split()[1]), self._fetch_range,
                                         self._quarantine_streamed, self.config.max_episode_length))
            except (InvalidEpisodeError, EpisodeNotFoundError):
                continue  # quarantined (logged) or evicted since the draw: draw again
        return out

    def _fetch_range(self, raw_id: bytes, start: int, stop: int) -> bytes | None:
        with redis_errors(self._endpoint):
            return self._scripts.range(keys=self._keys.data, args=[raw_id, start, stop])

    def _quarantine_streamed(self, raw_id: bytes, reason: str) -> None:
        with redis_errors(self._endpoint):
            self._decoder.quarantine(raw_id, reason)

    def _sample(self, n: int, timeout_s: float | None, inline_bytes: int,
                convert: Callable[[list[tuple[bytes, bytes | None, bytes | None]]], list[Any]]) -> list[Any]:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        wait_s = self.config.sample_timeout_s if timeout_s is None else timeout_s
        deadline, backoff = deadline_after(wait_s), Backoff()
        out: list[Any] = []
        limiter_args = self._limiter.script_args()
        with redis_errors(self._endpoint):
            while len(out) < n:
                draws = self._rng.random(min(n - len(out), _MAX_DRAWS_PER_CALL)).tolist()
                reply = self._scripts.sample(keys=self._keys.data,
                                             args=[*limiter_args, inline_bytes, *draws])
                drawn = int(reply[1])
                out += convert(list(zip(reply[2::3], reply[3::3], reply[4::3])))
                if drawn:
                    backoff.reset()
                    continue
                if time.monotonic() >= deadline:
                    raise SampleTimeoutError(
                        f"sample({n}) from store {self.name!r} on {self._endpoint} waited {wait_s} s and got "
                        f"{len(out)}: {self._explain()}. Are collectors inserting into this store?",
                        out,
                    )
                backoff.sleep(deadline)
        return out

    def get(self, ids: Sequence[str]) -> list[Episode]:
        """The episodes with these ids, in that order; `EpisodeNotFoundError` names any missing."""
        ids = list(ids)
        if not ids:
            return []
        with redis_errors(self._endpoint):
            blobs = self._client.hmget(self._keys.blobs, ids)
            stored = [(i.encode(), b) for i, b in zip(ids, blobs) if b is not None]
            found = {ep.episode_id: ep for ep in self._decoder.decode(stored)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise EpisodeNotFoundError(
                f"store {self.name!r} holds no episode {missing[:5]} ({len(missing)} missing): "
                "evicted, quarantined or never inserted"
            )
        return [found[i] for i in ids]

    def get_streamed(self, ids: Sequence[str], *, inline_bytes: int = 1 << 16
                     ) -> list[Episode | StreamedEpisode]:
        """As `get`, but episodes whose blob exceeds `inline_bytes` come back streamed."""
        ids = list(ids)
        with redis_errors(self._endpoint):
            entries = self._client.hmget(self._keys.sizes, ids) if ids else []
        triples = [(i.encode(), None, e) for i, e in zip(ids, entries) if e is not None]
        small = [i for i, _, e in triples if int(e.split()[1]) <= inline_bytes]
        whole = {e.episode_id: e for e in self.get([i.decode() for i in small])} if small else {}
        streamed = {e.episode_id: e for e in self._open_streamed(
            [t for t in triples if t[0] not in small])}
        found = {**whole, **streamed}
        missing = [i for i in ids if i not in found]
        if missing:
            raise EpisodeNotFoundError(f"store {self.name!r} holds no episode {missing[:5]} "
                                       f"({len(missing)} missing)")
        return [found[i] for i in ids]

    def iterate(self, batch_size: int = 64) -> Iterator[Episode]:
        """Every episode stored when iteration starts, oldest first, except those evicted before
        their page is read; safe while others insert and evict (it does not chase new inserts)."""
        with redis_errors(self._endpoint):
            until = self._client.hget(self._keys.counters, "seq") or b"0"
        after = b"0"
        while True:
            with redis_errors(self._endpoint):
                reply = self._scripts.page(keys=self._keys.data, args=[after, until, batch_size])
            if not reply:
                return
            yield from self._decoder.decode(list(zip(reply[0::3], reply[2::3])))
            after = reply[-2]

    def export_parquet(self, path: str | os.PathLike[str]) -> int:
        """Writes every stored episode to a Parquet file, one row per step; returns the count."""
        return write_parquet(self.iterate(), path)

    # -- bookkeeping -----------------------------------------------------------------------

    def stats(self) -> StoreStats:
        with redis_errors(self._endpoint):
            pipe = self._client.pipeline(transaction=True)
            pipe.hgetall(self._keys.counters)
            pipe.hgetall(self._keys.rate)
            pipe.time()
            counters, rate, (now_s, _us) = pipe.execute()
        return StoreStats.from_redis(counters, rate, int(now_s))

    def quarantined(self) -> dict[str, str]:
        """Quarantined episode ids and why each failed to decode."""
        with redis_errors(self._endpoint):
            reasons = self._client.hgetall(self._keys.reasons)
        return {k.decode(): v.decode(errors="replace") for k, v in reasons.items()}

    def clear(self) -> None:
        """Removes every episode, counter and quarantined blob; the store's settings stay."""
        with redis_errors(self._endpoint):
            self._client.unlink(*self._keys.data)

    def delete(self) -> None:
        """Removes the store entirely, settings included."""
        with redis_errors(self._endpoint):
            self._client.unlink(*self._keys.data, self._keys.config)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> TrajectoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TrajectoryStore(name={self.name!r}, endpoint={self._endpoint!r})"

    # -- internals -------------------------------------------------------------------------

    def _probe(self) -> list[int]:
        return [int(x) for x in self._scripts.probe(keys=self._keys.data, args=self._limiter.script_args())]

    def _explain(self) -> str:
        size, inserted, sampled, _, _ = self._probe()
        return self._limiter.explain(size, inserted, sampled)

