"""A blob that fails to decode is quarantined, counted and logged; readers carry on."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from trajectory_store import EpisodeNotFoundError, TrajectoryStore
from trajectory_store.synthetic import random_episode


def _plant(store: TrajectoryStore, episode_id: str, blob: bytes) -> None:
    """Overwrites a stored blob behind the store's back, as a bug or an attacker could."""
    store._client.hset(store._keys.data[1], episode_id, blob)


@pytest.fixture
def store_with_one_bad(make_store):
    store = make_store(seed=0)
    rng = np.random.default_rng(0)
    episodes = [random_episode(rng, 10) for _ in range(5)]
    store.insert(episodes)
    bad = episodes[2]
    good_blob = store.encode(episodes[0]).blob
    _plant(store, bad.episode_id, good_blob[: len(good_blob) // 2])  # truncated Arrow stream
    return store, episodes, bad


def test_sampling_quarantines_a_corrupt_blob_and_continues(store_with_one_bad, caplog) -> None:
    store, episodes, bad = store_with_one_bad
    with caplog.at_level(logging.WARNING, logger="trajectory_store"):
        batch = store.sample(200)
    assert len(batch) == 200 and bad.episode_id not in {ep.episode_id for ep in batch}
    stats = store.stats()
    assert (stats.episodes, stats.steps, stats.quarantined) == (4, 40, 1)
    assert stats.sampled == 200  # draws of the bad blob were given back to the rate limiter
    reason = store.quarantined()[bad.episode_id]
    assert "Arrow" in reason or "record batch" in reason
    assert bad.episode_id in caplog.text and "quarantined" in caplog.text
    quarantine_key = store._keys.data[5]
    assert store._client.hexists(quarantine_key, bad.episode_id)  # kept for inspection, not dropped
    assert [ep.episode_id for ep in store.iterate()] == [ep.episode_id for ep in episodes if ep is not bad]


def test_iterate_and_get_quarantine_too(store_with_one_bad) -> None:
    store, episodes, bad = store_with_one_bad
    assert [ep.episode_id for ep in store.iterate()] == [ep.episode_id for ep in episodes if ep is not bad]
    assert store.stats().quarantined == 1
    with pytest.raises(EpisodeNotFoundError, match=bad.episode_id):
        store.get([bad.episode_id])


def test_a_valid_blob_under_the_wrong_id_is_quarantined(make_store) -> None:
    store = make_store()
    rng = np.random.default_rng(1)
    first, second = random_episode(rng, 5), random_episode(rng, 5)
    store.insert([first, second])
    _plant(store, first.episode_id, store.encode(second).blob)  # a swapped blob
    with pytest.raises(EpisodeNotFoundError):
        store.get([first.episode_id])
    assert "not this one" in store.quarantined()[first.episode_id]
    assert store.get([second.episode_id]) == [second]


def test_a_store_of_only_corrupt_blobs_times_out_instead_of_crashing(make_store) -> None:
    store = make_store()
    episodes = [random_episode(np.random.default_rng(i), 5) for i in range(3)]
    store.insert(episodes)
    for ep in episodes:
        _plant(store, ep.episode_id, b"\x00" * 16)
    with pytest.raises(TimeoutError, match="0 episodes stored"):
        store.sample(4, timeout_s=0.2)
    assert store.stats().quarantined == 3 and store.stats().episodes == 0
