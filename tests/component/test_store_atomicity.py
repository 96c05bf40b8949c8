"""Readers racing a writer that inserts and evicts never see half an episode or torn counters."""

from __future__ import annotations

import threading
import time

import numpy as np

from trajectory_store.synthetic import random_episode


def test_concurrent_readers_never_see_a_partial_episode(make_store) -> None:
    store = make_store(capacity_steps=400, seed=0)  # ~10 episodes: almost every insert evicts
    rng = np.random.default_rng(0)
    store.insert([random_episode(rng, 40) for _ in range(8)])
    stop = threading.Event()
    failures: list[str] = []
    checks = {"sampled": 0, "iterated": 0, "snapshots": 0}

    def writer() -> None:
        while not stop.is_set():
            store.insert([random_episode(rng, int(n)) for n in rng.integers(20, 60, size=3)])

    def sampler() -> None:
        while not stop.is_set():
            batch = store.sample(16, timeout_s=5)
            if len(batch) != 16:
                failures.append(f"sample returned {len(batch)} episodes")
            checks["sampled"] += len(batch)

    def iterator() -> None:
        while not stop.is_set():
            seen = [ep.meta["created_at_ns"] for ep in store.iterate(batch_size=3)]
            if seen != sorted(seen):
                failures.append("iterate left insertion order")
            checks["iterated"] += len(seen)

    def snapshotter() -> None:
        keys = store._keys.data
        while not stop.is_set():
            pipe = store._client.pipeline(transaction=True)  # one atomic view of the layout
            pipe.zcard(keys[0]).hlen(keys[1]).hvals(keys[2]).hgetall(keys[3])
            indexed, blobs, sizes, counters = pipe.execute()
            steps = sum(int(v.split()[0]) for v in sizes)
            nbytes = sum(int(v.split()[1]) for v in sizes)
            expected = (int(counters[b"episodes"]), int(counters[b"episodes"]), int(counters[b"steps"]))
            if (indexed, blobs, steps) != expected or nbytes != int(counters[b"bytes"]) or steps > 400:
                failures.append(f"torn state: index {indexed}, blobs {blobs}, steps {steps}, {counters}")
            checks["snapshots"] += 1

    workers = (writer, sampler, sampler, iterator, snapshotter)
    threads = [threading.Thread(target=f, daemon=True) for f in workers]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not failures, failures[:3]
    assert min(checks.values()) > 0, checks
    stats = store.stats()
    assert stats.quarantined == 0 and stats.evicted > 0
    assert stats.inserted == stats.episodes + stats.evicted
