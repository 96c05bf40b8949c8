"""TrajectoryStore on a real redis-server: insert, get, iterate, stats, names, settings."""

from __future__ import annotations

import numpy as np
import pytest

from trajectory_store import (
    EpisodeNotFoundError,
    InvalidEpisodeError,
    StoreConfig,
    StoreConfigError,
    TrajectoryStore,
)
from trajectory_store.codec import EncodedEpisode
from trajectory_store.redis_client import connect_redis
from trajectory_store.synthetic import random_episode


def _episodes(n: int, length: int = 20, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [random_episode(rng, length) for _ in range(n)]


def test_insert_then_get_iterate_and_stats(fresh_store: TrajectoryStore) -> None:
    episodes = _episodes(5)
    ids = fresh_store.insert(episodes)
    assert ids == [ep.episode_id for ep in episodes]
    assert fresh_store.get(ids[::-1]) == episodes[::-1]
    assert list(fresh_store.iterate(batch_size=2)) == episodes  # insertion order, across pages
    stats = fresh_store.stats()
    assert (stats.episodes, stats.steps, stats.inserted, stats.inserted_steps) == (5, 100, 5, 100)
    assert stats.bytes > 0 and stats.evicted == stats.sampled == stats.quarantined == 0
    assert stats.insert_rate_steps > 0


def test_stats_count_inserts_per_behaviour_policy(make_store) -> None:
    """The store's mix of behaviours: counted once per episode, kept through eviction and retries."""
    store = make_store(capacity_steps=100)
    rng = np.random.default_rng(1)
    randoms = [random_episode(rng, 20, policy_id="uniform-random-4") for _ in range(4)]
    policies = [random_episode(rng, 20, policy_id="impala") for _ in range(3)]
    store.insert(randoms)
    store.insert(policies)
    store.insert(policies[:1])  # a retried insert: already stored, not counted again
    stats = store.stats()
    assert stats.inserted_by_policy == {"uniform-random-4": 4, "impala": 3}
    assert stats.evicted == 2 and stats.inserted == 7  # eviction keeps the counts
    assert stats.as_metrics()["store/inserted_by_policy/impala"] == 3.0
    encoded = store.encode(random_episode(rng, 20, policy_id="impala"))
    store.insert([encoded])
    assert encoded.policy_id == "impala" and store.stats().inserted_by_policy["impala"] == 4


def test_get_names_missing_ids(fresh_store: TrajectoryStore) -> None:
    [episode_id] = fresh_store.insert(_episodes(1))
    with pytest.raises(EpisodeNotFoundError, match="f" * 32):
        fresh_store.get([episode_id, "f" * 32])
    assert fresh_store.get([]) == []


def test_an_invalid_episode_writes_nothing_of_its_batch(fresh_store: TrajectoryStore) -> None:
    good = _episodes(3)
    with pytest.raises(InvalidEpisodeError, match="Episode"):
        fresh_store.insert([*good, {"obs": 1}])  # type: ignore[list-item]
    assert fresh_store.stats().inserted == 0 and list(fresh_store.iterate()) == []


def test_episodes_longer_than_max_episode_length_are_refused(redis_server, store_name: str) -> None:
    client = connect_redis(redis_server.url)
    store = TrajectoryStore(client, store_name, StoreConfig(1_000_000, max_episode_length=25))
    try:
        with pytest.raises(InvalidEpisodeError, match="max_episode_length=25"):
            store.insert([*_episodes(2), *_episodes(1, length=30)])
        assert store.stats().inserted == 0
    finally:
        store.delete()
        client.close()


def test_episode_longer_than_capacity_is_refused(make_store) -> None:
    store = make_store(capacity_steps=10)
    with pytest.raises(InvalidEpisodeError, match="capacity_steps=10"):
        store.insert(_episodes(1, length=11))


def test_inserting_an_id_twice_is_harmless(fresh_store: TrajectoryStore) -> None:
    episodes = _episodes(3)
    fresh_store.insert(episodes[:2])
    assert fresh_store.insert(episodes) == [ep.episode_id for ep in episodes]  # a retried batch
    assert fresh_store.stats().inserted == 3 and list(fresh_store.iterate()) == episodes


def test_pre_encoded_episodes_insert_like_episodes(fresh_store: TrajectoryStore) -> None:
    episodes = _episodes(3)
    encoded = [fresh_store.encode(ep) for ep in episodes]
    assert fresh_store.insert(encoded) == [ep.episode_id for ep in episodes]
    assert fresh_store.get([ep.episode_id for ep in episodes]) == episodes
    with pytest.raises(InvalidEpisodeError, match="32 hex"):
        fresh_store.insert([EncodedEpisode("nope", 5, b"x")])


def test_large_batches_span_several_script_calls(fresh_store: TrajectoryStore) -> None:
    episodes = _episodes(600, length=2)  # more than one chunk of 512
    fresh_store.insert(episodes)
    assert [ep.episode_id for ep in fresh_store.iterate(batch_size=1000)] == [ep.episode_id for ep in episodes]


def test_store_names_are_isolated(make_store, store_name: str) -> None:
    a = make_store(name=store_name + "-a")
    b = make_store(name=store_name + "-b")
    a.insert(_episodes(3, seed=1))
    b.insert(_episodes(2, seed=2))
    assert a.stats().episodes == 3 and b.stats().episodes == 2
    assert {ep.episode_id for ep in a.sample(50)}.isdisjoint({ep.episode_id for ep in b.iterate()})
    a.clear()
    assert a.stats().episodes == 0 and b.stats().episodes == 2


def test_settings_are_recorded_and_enforced(redis_server, make_store, store_name: str) -> None:
    make_store(capacity_steps=500, samples_per_insert=2.0, rate_tolerance=10.0)
    with pytest.raises(StoreConfigError, match=r"capacity_steps=500 \(you passed 400\)"):
        make_store(capacity_steps=400, samples_per_insert=2.0, rate_tolerance=10.0)
    attached = TrajectoryStore.connect(redis_server.url, store_name, compression="zstd")
    assert attached.config.table_settings()["samples_per_insert"] == 2.0
    assert attached.config.compression == "zstd"
    attached.close()
    with pytest.raises(StoreConfigError, match="pass capacity_steps"):
        TrajectoryStore.connect(redis_server.url, store_name, samples_per_insert=3.0)
    with pytest.raises(StoreConfigError, match="does not exist"):
        TrajectoryStore.connect(redis_server.url, store_name + "-never-created")


def test_clear_keeps_settings_and_delete_removes_them(redis_server, make_store, store_name: str) -> None:
    store = make_store(capacity_steps=300)
    store.insert(_episodes(2))
    store.clear()
    assert store.stats().episodes == 0 and store.stats().inserted == 0
    assert TrajectoryStore.connect(redis_server.url, store_name).config.capacity_steps == 300
    store.delete()
    assert store._client.keys(f"memup:{{{store_name}}}:*") == []


def test_compressions_share_one_store(make_store) -> None:
    episodes = _episodes(3)
    for compression, ep in zip((None, "lz4", "zstd"), episodes):
        make_store(compression=compression).insert([ep])
    assert list(make_store().iterate()) == episodes
