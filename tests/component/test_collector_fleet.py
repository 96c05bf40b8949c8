"""Collector actors on real Ray and a real Redis: quotas, crashes, back-pressure, stop."""

import os
import signal
import time

import numpy as np
import pytest
import ray

from actors import CollectorConfig, CollectorFleet, EpisodeCollector, collect_episodes
from envs import NoisyTMaze, tmaze_spec
from trajectory_store import StoreConfig, StoreHandle

TMAZE = tmaze_spec(30, length_jitter=5)


def assert_complete_and_replayable(episode) -> None:
    """A stored episode is whole: the single env replays it from its seed step by step."""
    env = NoisyTMaze(**episode.meta["env_kwargs"])
    obs, info = env.reset(options={"episode_seed": episode.meta["seed"]})
    assert len(episode.action) == info["episode_length"] == episode.meta["length"]
    for t, action in enumerate(episode.action):
        np.testing.assert_array_equal(episode.obs[t], obs)
        obs, reward, terminated, _, step_info = env.step(int(action))
        assert reward == episode.reward[t]
    assert terminated and step_info["success"] == episode.meta["success"]


def test_serial_collector_fills_the_store_with_complete_episodes(redis_server, store_name):
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=1_000_000))
    collector = EpisodeCollector(
        0, TMAZE, CollectorConfig(num_envs=8, flush_episodes=10), handle, base_seed=1,
    )
    summary = collector.run(max_episodes=45)
    store = handle.attached().connect()
    try:
        assert summary["collector/episodes"] == store.stats().episodes == 45
        episodes = list(store.iterate())
        assert {e.meta["collector_id"] for e in episodes} == {"collector-0"}
        assert len({e.meta["seed"] for e in episodes}) == 45
        for episode in episodes:
            assert_complete_and_replayable(episode)
    finally:
        store.delete()
        store.close()


def test_fleet_meets_its_quota_and_stops_cleanly(ray_local, redis_server, store_name):
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=1_000_000))
    collect = CollectorConfig(num_collectors=2, num_envs=16, flush_episodes=8,
                              num_cpus_per_collector=0.5)
    summaries = collect_episodes(TMAZE, collect, handle, num_episodes=200, base_seed=3,
                                 timeout_s=120)
    store = handle.attached().connect()
    try:
        stats = store.stats()
        assert stats.episodes >= 200
        assert sorted(s["collector/id"] for s in summaries) == ["collector-0", "collector-1"]
        assert sum(s["collector/episodes"] for s in summaries) == stats.episodes
        # Different collectors draw different episodes.
        seeds = [e.meta["seed"] for e in store.iterate()]
        assert len(set(seeds)) == len(seeds)
        for name in ("collector-0", "collector-1"):
            with pytest.raises(ValueError):
                ray.get_actor(name)  # stopped and gone
    finally:
        store.delete()
        store.close()


def test_killed_collector_is_restarted_and_leaves_no_partial_episode(
    ray_local, redis_server, store_name
):
    store_config = StoreConfig(capacity_steps=5_000_000)
    collect = CollectorConfig(num_collectors=1, num_envs=16, flush_episodes=16,
                              num_cpus_per_collector=0.5)
    handle = StoreHandle(redis_server.url, store_name, store_config)
    store = handle.connect()
    fleet = CollectorFleet.start(TMAZE, collect, handle)
    try:
        fleet.wait_for_episodes(store, 50, timeout_s=60)
        pid = ray.get(fleet.actors[0].summary.remote())["collector/pid"]
        os.kill(pid, signal.SIGKILL)  # mid-run: episodes are being recorded right now
        before = store.stats().episodes
        fleet.wait_for_episodes(store, 300, timeout_s=120)
        new_pid = ray.get(fleet.actors[0].summary.remote())["collector/pid"]
        assert new_pid != pid
        assert store.stats().episodes > before
    finally:
        fleet.stop()
    for episode in store.iterate():
        assert_complete_and_replayable(episode)
    store.delete()
    store.close()


def wait_until_inserted(store, total: int, timeout_s: float = 60.0) -> None:
    """Waits for the store's insert count to reach `total` (a count from the start of the test,
    so an insert racing the call is not missed)."""
    deadline = time.monotonic() + timeout_s
    while store.stats().inserted < total:
        assert time.monotonic() < deadline, (
            f"{store.stats().inserted} of {total} episodes inserted in {timeout_s:.0f} s")
        time.sleep(0.1)


def test_back_pressure_holds_collectors_until_the_learner_samples(
    ray_local, redis_server, store_name
):
    store_config = StoreConfig(capacity_steps=1_000_000, samples_per_insert=1.0,
                               rate_tolerance=20.0)
    collect = CollectorConfig(num_collectors=1, num_envs=16, flush_episodes=4,
                              insert_timeout_s=0.5, num_cpus_per_collector=0.5)
    handle = StoreHandle(redis_server.url, store_name, store_config)
    store = handle.connect()
    fleet = CollectorFleet.start(TMAZE, collect, handle)
    try:
        fleet.wait_for_episodes(store, 10, timeout_s=60)
        time.sleep(3)  # a free-running collector would insert thousands of episodes by now
        held = store.stats().inserted
        assert held <= 40
        store.sample(30, timeout_s=10)
        # Sampling 30 lets the collector insert ~30 more than `held`; the blocked insert may
        # land before a count started after the sample would begin, so count the total.
        wait_until_inserted(store, held + 20)
    finally:
        summaries = fleet.stop(timeout_s=30)
    assert len(summaries) == 1  # it stopped cleanly while blocked on back-pressure
    store.delete()
    store.close()


def test_paced_fleet_collects_only_what_it_is_allowed(ray_local, redis_server, store_name):
    """The online loop's exploring collectors: nothing before `pace`, then the allowance (a
    collector may finish the episodes its mazes were in the middle of), then nothing more."""
    collect = CollectorConfig(num_collectors=2, num_envs=4, flush_episodes=4,
                              num_cpus_per_collector=0.5)
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=1_000_000))
    store = handle.connect()
    fleet = CollectorFleet.start(TMAZE, collect, handle, paced=True)
    try:
        time.sleep(2)  # a free-running fleet would have inserted hundreds by now
        assert store.stats().inserted == 0
        fleet.pace(20)  # 10 each
        wait_until_inserted(store, 20)
        time.sleep(2)
        paced = store.stats().inserted
        assert 20 <= paced <= 20 + 2 * collect.num_envs
        fleet.pace(60)
        wait_until_inserted(store, 60)
        time.sleep(2)
        assert store.stats().inserted <= 60 + 2 * collect.num_envs
        assert store.stats().inserted_by_policy == {"uniform-random-2": store.stats().inserted}
    finally:
        summaries = fleet.stop(timeout_s=30)
    assert len(summaries) == 2  # paced collectors stop cleanly
    store.delete()
    store.close()
