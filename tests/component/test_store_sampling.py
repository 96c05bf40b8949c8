"""Uniform sampling, waiting for min_size_to_sample, and the empty-store timeout."""

from __future__ import annotations

import collections
import math
import threading
import time

import numpy as np
import pytest

from trajectory_store import SampleTimeoutError, TrajectoryStore
from trajectory_store.synthetic import random_episode

_EPISODES = 20
_DRAWS = 4000


def _chi_square_p_value(counts: list[int]) -> float:
    """P(chi2 >= statistic) under uniformity (Wilson-Hilferty approximation; no scipy needed)."""
    expected = sum(counts) / len(counts)
    statistic = sum((c - expected) ** 2 / expected for c in counts)
    df = len(counts) - 1
    z = ((statistic / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


def _looks_uniform(counts: list[int]) -> bool:
    return _chi_square_p_value(counts) > 1e-3


def test_the_uniformity_check_rejects_biased_samplers() -> None:
    """Guards the test below: it must fail for the biases a Redis sampler can plausibly have."""
    rng = np.random.default_rng(7)
    draws = rng.random(_DRAWS)
    # floor(f * n) is uniform; round(f * (n - 1)) halves the odds of the first and last episode.
    assert _looks_uniform(np.bincount(np.floor(draws * _EPISODES).astype(int), minlength=_EPISODES).tolist())
    rounded = np.rint(draws * (_EPISODES - 1)).astype(int)
    assert not _looks_uniform(np.bincount(rounded, minlength=_EPISODES).tolist())
    # SRANDMEMBER picks a random hash bucket, then a random entry of its chain: entries that
    # share a bucket are drawn less often. 20 members in 16 buckets, four chains of two.
    buckets = [[i] for i in range(12)] + [[12 + 2 * j, 13 + 2 * j] for j in range(4)]
    picks = [buckets[b][rng.integers(len(buckets[b]))] for b in rng.integers(len(buckets), size=_DRAWS)]
    assert not _looks_uniform(np.bincount(picks, minlength=_EPISODES).tolist())


def test_sample_is_uniform_over_stored_episodes(make_store) -> None:
    store = make_store(seed=3)
    rng = np.random.default_rng(0)
    ids = store.insert([random_episode(rng, 5) for _ in range(_EPISODES)])
    counts = collections.Counter(ep.episode_id for _ in range(_DRAWS // 200) for ep in store.sample(200))
    assert set(counts) == set(ids)
    assert _looks_uniform([counts[i] for i in ids]), counts
    assert store.stats().sampled == _DRAWS


def test_sample_is_uniform_over_what_is_stored_now(make_store) -> None:
    store = make_store(capacity_episodes=4, capacity_steps=1000, seed=1)
    rng = np.random.default_rng(1)
    ids = store.insert([random_episode(rng, 5) for _ in range(10)])
    assert {ep.episode_id for ep in store.sample(400)} == set(ids[-4:])  # evicted ones never come back


def test_a_seed_makes_sampling_reproducible(redis_server, make_store, store_name: str) -> None:
    make_store().insert([random_episode(np.random.default_rng(2), 5) for _ in range(10)])
    runs = []
    for _ in range(2):
        with TrajectoryStore.connect(redis_server.url, store_name, seed=42) as store:
            runs.append([ep.episode_id for ep in store.sample(30)])
    assert runs[0] == runs[1]


def test_sample_on_an_empty_store_waits_then_says_why(fresh_store: TrajectoryStore) -> None:
    start = time.monotonic()
    with pytest.raises(SampleTimeoutError, match=r"waited 0.3 s and got 0: 0 episodes stored") as info:
        fresh_store.sample(4, timeout_s=0.3)
    assert time.monotonic() - start >= 0.3
    assert "min_size_to_sample=1" in str(info.value) and info.value.episodes == []
    assert isinstance(info.value, TimeoutError)


def test_sample_waits_for_min_size_to_sample(make_store) -> None:
    store = make_store(min_size_to_sample=3)
    episodes = [random_episode(np.random.default_rng(i), 5) for i in range(3)]
    store.insert(episodes[:2])
    with pytest.raises(SampleTimeoutError, match="2 episodes stored"):
        store.sample(1, timeout_s=0.1)
    writer = threading.Timer(0.2, store.insert, args=[episodes[2:]])
    writer.start()
    try:
        batch = store.sample(8, timeout_s=30)
    finally:
        writer.join()
    assert len(batch) == 8 and {ep.episode_id for ep in batch} <= {ep.episode_id for ep in episodes}


def test_sample_rejects_a_bad_count(fresh_store: TrajectoryStore) -> None:
    for n in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="positive int"):
            fresh_store.sample(n)  # type: ignore[arg-type]
