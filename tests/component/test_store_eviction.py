"""FIFO eviction of whole episodes past capacity_steps and capacity_episodes."""

from __future__ import annotations

import numpy as np

from trajectory_store.synthetic import random_episode


def _episodes(lengths: list[int]) -> list:
    rng = np.random.default_rng(0)
    return [random_episode(rng, n) for n in lengths]


def _stored_ids(store) -> list[str]:
    return [ep.episode_id for ep in store.iterate()]


def test_capacity_in_steps_evicts_the_oldest_whole_episodes(make_store) -> None:
    store = make_store(capacity_steps=100)
    episodes = _episodes([40, 30, 20, 50, 10])
    store.insert(episodes[:3])  # 90 steps: all fit
    assert _stored_ids(store) == [ep.episode_id for ep in episodes[:3]]
    store.insert([episodes[3]])  # 140 > 100: the 40 goes as a whole, and only it
    assert _stored_ids(store) == [ep.episode_id for ep in episodes[1:4]]
    store.insert([episodes[4]])  # 110 > 100: the 30 goes
    stats = store.stats()
    assert (stats.episodes, stats.steps, stats.evicted, stats.inserted) == (3, 80, 2, 5)
    assert stats.bytes == sum(len(store.encode(ep).blob) for ep in episodes[2:])


def test_capacity_in_episodes(make_store) -> None:
    store = make_store(capacity_steps=10_000, capacity_episodes=3)
    episodes = _episodes([5] * 7)
    for ep in episodes:
        store.insert([ep])
        assert store.stats().episodes <= 3
    assert _stored_ids(store) == [ep.episode_id for ep in episodes[-3:]]
    assert store.stats().evicted == 4


def test_eviction_inside_one_batch_keeps_the_newest(make_store) -> None:
    store = make_store(capacity_steps=25)
    episodes = _episodes([10] * 6)
    store.insert(episodes)
    assert _stored_ids(store) == [ep.episode_id for ep in episodes[-2:]]
    stats = store.stats()
    assert (stats.steps, stats.evicted) == (20, 4)


def test_an_episode_of_exactly_capacity_replaces_everything(make_store) -> None:
    store = make_store(capacity_steps=30)
    episodes = _episodes([10, 10, 30])
    store.insert(episodes)
    assert _stored_ids(store) == [episodes[2].episode_id]
    assert store.stats().steps == 30
