"""samples_per_insert: inserts wait while the sampler is behind, samples wait while it is ahead.

Settings used throughout: samples_per_insert=1, rate_tolerance=1, min_size_to_sample=2, so
inserted - sampled must stay within [1, 3] once two episodes are stored.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from trajectory_store import RateLimitTimeout, SampleTimeoutError, TrajectoryStore
from trajectory_store.synthetic import random_episode


@pytest.fixture
def pair(redis_server, make_store, store_name: str):
    """A collector-side and a learner-side store: two clients sharing one limiter in Redis."""
    collector = make_store(samples_per_insert=1.0, rate_tolerance=1.0, min_size_to_sample=2)
    learner = TrajectoryStore.connect(redis_server.url, store_name, seed=0)
    yield collector, learner
    learner.close()


def _episodes(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [random_episode(rng, 4) for _ in range(n)]


def _in_thread(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = fn(*args, **kwargs)
        except Exception as exc:  # surfaced by the test's assertions
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_insert_blocks_while_the_sampler_is_behind(pair) -> None:
    collector, learner = pair
    episodes = _episodes(6)
    assert collector.can_insert()
    collector.insert(episodes[:3])  # 2 fill min_size freely, the 3rd reaches the upper bound
    assert not collector.can_insert()
    with pytest.raises(RateLimitTimeout, match="waited 0.1 s for the sampler") as info:
        collector.insert(episodes[3:4], timeout_s=0.1)
    assert info.value.inserted_ids == [] and collector.stats().inserted == 3
    assert "inserted=3, sampled=0" in str(info.value)

    thread, result = _in_thread(collector.insert, episodes[3:4], timeout_s=30)
    thread.join(0.3)
    assert thread.is_alive(), "insert must wait for the learner"
    learner.sample(1)  # inserted - sampled drops to 2: room for one more
    thread.join(10)
    assert result == {"value": [episodes[3].episode_id]}
    assert learner.stats().inserted == 4


def test_a_partly_admitted_batch_reports_what_was_written(pair) -> None:
    collector, learner = pair
    episodes = _episodes(6, seed=1)
    collector.insert(episodes[:3])
    learner.sample(1)  # room for exactly one
    with pytest.raises(RateLimitTimeout) as info:
        collector.insert(episodes[3:6], timeout_s=0)
    assert info.value.inserted_ids == [episodes[3].episode_id]
    assert [ep.episode_id for ep in learner.iterate()] == [ep.episode_id for ep in episodes[:4]]
    assert collector.insert(episodes[:4], timeout_s=0)  # a retried, acknowledged batch needs no room
    assert learner.stats().inserted == 4


def test_sample_waits_while_the_sampler_is_ahead(pair) -> None:
    collector, learner = pair
    collector.insert(_episodes(3, seed=2))
    assert len(learner.sample(2)) == 2  # inserted - sampled = 1: the lower bound
    with pytest.raises(SampleTimeoutError, match=r"must stay within \[1, 3\]") as info:
        learner.sample(1, timeout_s=0.1)
    assert info.value.episodes == []

    thread, result = _in_thread(learner.sample, 3, timeout_s=30)
    thread.join(0.3)
    assert thread.is_alive(), "sample must wait for the collectors"
    for ep in _episodes(3, seed=3):  # each insert admits one more draw
        collector.insert([ep], timeout_s=30)
    thread.join(10)
    assert len(result.get("value", [])) == 3, result
    assert learner.stats().sampled == 5


def test_limiter_keeps_the_ratio_over_a_long_run(make_store) -> None:
    store = make_store(samples_per_insert=4.0, rate_tolerance=8.0, min_size_to_sample=2, seed=0)
    rng = np.random.default_rng(4)
    stop = threading.Event()

    def collect() -> None:
        while not stop.is_set():
            try:
                store.insert([random_episode(rng, 3)], timeout_s=0.05)
            except RateLimitTimeout:
                pass

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    try:
        for _ in range(40):
            store.sample(4, timeout_s=30)
            stats = store.stats()
            # Reverb's bounds, spi * min_size -+ tolerance, hold at every atomic snapshot
            assert 4 * 2 - 8 <= 4 * stats.inserted - stats.sampled <= 4 * 2 + 8
    finally:
        stop.set()
        thread.join()
    assert store.stats().sampled == 160
