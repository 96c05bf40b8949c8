"""Acknowledged episodes survive a kill -9 of Redis (appendfsync always) and a restart."""

from __future__ import annotations

import os
import signal

import numpy as np

from trajectory_store import TrajectoryStore, start_embedded_redis
from trajectory_store.synthetic import random_episode


def test_kill_9_loses_nothing_acknowledged_with_appendfsync_always(tmp_path) -> None:
    data_dir = tmp_path / "redis"
    server = start_embedded_redis(data_dir, appendfsync="always")
    rng = np.random.default_rng(0)
    store = TrajectoryStore.connect(server.url, "durable", capacity_steps=2_000, seed=0)
    for _ in range(10):
        store.insert([random_episode(rng, int(n)) for n in rng.integers(30, 90, size=5)])
    store.sample(7)
    before_episodes = list(store.iterate())
    before = store.stats()
    assert before.evicted > 0  # eviction state must survive too

    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()
    server.stop()
    store.close()

    with start_embedded_redis(data_dir, appendfsync="always") as restarted:
        assert restarted.url.split("@")[0] == server.url.split("@")[0]  # same password
        with TrajectoryStore.connect(restarted.url, "durable") as again:  # settings came back too
            assert list(again.iterate()) == before_episodes
            after = again.stats()
            assert (after.episodes, after.steps, after.bytes, after.inserted, after.evicted, after.sampled) == (
                before.episodes, before.steps, before.bytes, before.inserted, before.evicted, before.sampled
            )
            assert again.config.capacity_steps == 2_000


def test_a_store_keeps_working_across_a_server_restart(tmp_path) -> None:
    data_dir = tmp_path / "redis"
    server = start_embedded_redis(data_dir)
    rng = np.random.default_rng(1)
    store = TrajectoryStore.connect(server.url, "restarts", capacity_steps=10_000)
    first = [random_episode(rng, 10) for _ in range(3)]
    store.insert(first)
    server.stop()  # clean shutdown: the AOF is flushed
    restarted = start_embedded_redis(data_dir, port=server.port)
    try:
        second = [random_episode(rng, 10) for _ in range(2)]
        store.insert(second)  # the client reconnects (retry with back-off) and reloads its scripts
        assert list(store.iterate()) == first + second
    finally:
        store.close()
        restarted.stop()
