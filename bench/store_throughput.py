"""Trajectory store throughput against raw pipelined Redis SET/GET of the same blobs.

T-Maze-1000-sized episodes (obs [1000, 3] float32 with +-1 noise, int32 actions, float32
rewards), LZ4, embedded redis-server (appendfsync everysec), all in one run:
  - encode:            Episode -> validated Arrow IPC blob (client CPU only)
  - insert_encoded:    store.insert of pre-encoded blobs (the Lua insert path: blob, index,
                       counters, eviction), compared with raw pipelined SET of the same blobs
  - insert:            store.insert of Episode objects (encode + the above)
  - sample:            store.sample(64) (uniform draw in Lua + decode + validation), compared
                       with raw pipelined GET of 64 random blobs (no decoding)
  - decode:            blob -> validated Episode (client CPU only)
Ratios are raw / store (1.0 = as fast as raw Redis; the target for inserts is <= 2).
"""

from __future__ import annotations

import tempfile

import numpy as np

from bench.common import best_rate, write_result
from trajectory_store import TrajectoryStore, decode_episode, start_embedded_redis
from trajectory_store.redis_client import connect_redis
from trajectory_store.synthetic import random_episode

LENGTH = 1000
BATCH = 64


def _rates(items_per_s: float, bytes_per_item: float) -> dict[str, float]:
    return {
        "episodes_per_s": round(items_per_s, 1),
        "steps_per_s": round(items_per_s * LENGTH),
        "mb_per_s": round(items_per_s * bytes_per_item / 1e6, 2),
    }


def run(quick: bool = False) -> dict:
    count = 256 if quick else 2048
    repeats = 2 if quick else 5
    rng = np.random.default_rng(0)
    episodes = [random_episode(rng, LENGTH) for _ in range(count)]
    batches = [episodes[i : i + BATCH] for i in range(0, count, BATCH)]
    with tempfile.TemporaryDirectory() as data_dir, start_embedded_redis(data_dir) as server:
        store = TrajectoryStore.connect(server.url, "bench", capacity_steps=count * LENGTH, compression="lz4")
        raw = connect_redis(server.url)
        encoded = [store.encode(ep) for ep in episodes]
        blob_bytes = float(np.mean([len(e.blob) for e in encoded]))
        encoded_batches = [encoded[i : i + BATCH] for i in range(0, count, BATCH)]

        def encode() -> int:
            for ep in episodes:
                store.encode(ep)
            return count

        def raw_set() -> int:
            for batch in encoded_batches:
                pipe = raw.pipeline(transaction=False)
                for item in batch:
                    pipe.set(f"raw:{item.episode_id}", item.blob)
                pipe.execute()
            return count

        def insert_encoded() -> int:
            store.clear()
            for batch in encoded_batches:
                store.insert(batch)
            return count

        def insert() -> int:
            store.clear()
            for batch in batches:
                store.insert(batch)
            return count

        keys = [f"raw:{e.episode_id}" for e in encoded]

        def raw_get() -> int:
            for _ in range(len(batches)):
                pipe = raw.pipeline(transaction=False)
                for i in rng.integers(0, count, BATCH):
                    pipe.get(keys[i])
                pipe.execute()
            return len(batches) * BATCH

        def sample() -> int:
            for _ in range(len(batches)):
                store.sample(BATCH)
            return len(batches) * BATCH

        def decode() -> int:
            for item in encoded:
                decode_episode(item.blob)
            return count

        work = {
            "encode": encode,
            "raw_set": raw_set,
            "insert_encoded": insert_encoded,
            "insert": insert,
            "raw_get": raw_get,
            "sample": sample,
            "decode": decode,
        }
        # Rounds interleave the measurements, so load from other processes hits all of them alike.
        rates = {name: 0.0 for name in work}
        for _ in range(repeats):
            for name, fn in work.items():
                rates[name] = max(rates[name], best_rate(fn, 1))
        stats = store.stats()
        store.delete()
        store.close()
        raw.close()
    return {
        "episode_length": LENGTH,
        "episodes": count,
        "batch": BATCH,
        "compression": "lz4",
        "appendfsync": "everysec",
        "blob_bytes_mean": round(blob_bytes),
        "throughput": {name: _rates(rate, blob_bytes) for name, rate in rates.items()},
        "ratio_raw_set_over_insert_encoded": round(rates["raw_set"] / rates["insert_encoded"], 2),
        "ratio_raw_set_over_insert": round(rates["raw_set"] / rates["insert"], 2),
        "ratio_raw_get_over_sample": round(rates["raw_get"] / rates["sample"], 2),
        "target_ratio_insert": 2.0,
        "store_after_run": stats.as_metrics(),
    }


def _print(result: dict) -> None:
    print(f"episodes of {result['episode_length']} steps, {result['blob_bytes_mean']} B each (lz4)")
    for name, figures in result["throughput"].items():
        print(
            f"  {name:15s} {figures['episodes_per_s']:>10.0f} episodes/s  {figures['mb_per_s']:>8.1f} MB/s  "
            f"{figures['steps_per_s'] / 1e6:>7.1f} M steps/s"
        )
    print(f"  raw SET / store insert (pre-encoded): {result['ratio_raw_set_over_insert_encoded']}x")
    print(f"  raw SET / store insert (with encode): {result['ratio_raw_set_over_insert']}x")
    print(f"  raw GET / store sample (with decode): {result['ratio_raw_get_over_sample']}x")


if __name__ == "__main__":
    figures = run()
    _print(figures)
    print("written to", write_result("store_throughput", figures))
