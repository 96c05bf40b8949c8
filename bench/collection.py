"""Collection into the store: one collector on one core, T-Maze-1000, random policy."""

from __future__ import annotations

import os
import tempfile
import time

from actors import CollectorConfig, EpisodeCollector
from bench.common import write_result
from envs import tmaze_spec
from trajectory_store import StoreConfig, StoreHandle, TrajectoryStore, start_embedded_redis

TMAZE = tmaze_spec(1000, length_jitter=10)


def collect_rate(redis_url: str, num_envs: int, episodes: int) -> dict:
    store_config = StoreConfig(capacity_steps=50_000_000)
    name = f"bench-collect-{num_envs}"
    collect = CollectorConfig(num_envs=num_envs, flush_episodes=64)
    collector = EpisodeCollector(0, TMAZE, collect, StoreHandle(redis_url, name, store_config))
    start = time.perf_counter()
    summary = collector.run(max_episodes=episodes)
    elapsed = time.perf_counter() - start
    store = TrajectoryStore.from_config(redis_url, name, None)
    stats = store.stats()
    store.delete()
    store.close()
    return {
        "num_envs": num_envs,
        "episodes": summary["collector/episodes"],
        "steps_per_s": round(summary["collector/steps"] / elapsed),
        "stored_mb": round(stats.bytes / 2**20, 1),
    }


def run(quick: bool = False) -> dict:
    if hasattr(os, "sched_setaffinity"):  # the collector's one core; Redis gets the other
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    episodes = 256 if quick else 2048
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_embedded_redis(data_dir)
        try:
            rows = [collect_rate(server.url, n, episodes) for n in (64, 256, 1024)]
        finally:
            server.stop()
    return {
        "corridor_length": TMAZE.corridor_length,
        "collector_steps_per_s": rows,
        "best_steps_per_s": max(r["steps_per_s"] for r in rows),
        "target_steps_per_s": 1_000_000,
    }


if __name__ == "__main__":
    figures = run()
    print(figures)
    print("written to", write_result("collection", figures))
