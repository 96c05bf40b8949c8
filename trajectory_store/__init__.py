"""Complete episodes as Arrow record batches in a Redis-backed, Reverb-like store.

The whole loop, collector and learner side:

    from trajectory_store import Episode, TrajectoryStore, start_embedded_redis

    server = start_embedded_redis("runs/demo/redis")        # or any redis:// URL
    store = TrajectoryStore.connect(
        server.url, "tmaze-100",
        capacity_steps=1_000_000,                            # FIFO eviction of whole episodes
        min_size_to_sample=32,                               # sample() waits for this many
        samples_per_insert=4.0,                              # optional rate limiter ...
        rate_tolerance=64.0,                                 # ... and its slack, in samples
    )

    # collector: one complete episode per call of Episode.create
    ep = Episode.create(obs, action, reward,                 # float32 [T,3], int32 [T], float32 [T]
                        env_id="memup/NoisyTMaze-v0", env_kwargs={"corridor_length": 100},
                        seed=1234, collector_id="collector-0", policy_id="uniform-random",
                        terminated=True, success=True)
    store.insert([ep])                                       # blocks while the learner is behind

    # learner
    batch = store.sample(32, timeout_s=30)                   # uniform, waits for data and limiter
    metrics = store.stats().as_metrics()                     # {"store/episodes": ..., ...}

    store.close(); server.stop()

Bytes on the wire are Arrow IPC (`encode_episode` / `decode_episode`), never pickle; decoding
any bytes returns a valid `Episode` or raises `InvalidEpisodeError`. Blobs that fail to decode
inside the store are quarantined (`TrajectoryStore.quarantined()`), never returned.
`serve_redis(data_dir)` runs the server in the foreground until SIGTERM (`memup serve-redis`).
"""

from trajectory_store.codec import EncodedEpisode, decode_episode, encode_episode
from trajectory_store.config import StoreConfig
from trajectory_store.episode import Episode
from trajectory_store.errors import (
    EmbeddedRedisError,
    EpisodeNotFoundError,
    InvalidEpisodeError,
    RateLimitTimeout,
    SampleTimeoutError,
    StoreAuthError,
    StoreConfigError,
    StoreConnectionError,
    StoreError,
)
from trajectory_store.export import read_parquet_episodes
from trajectory_store.handle import StoreHandle
from trajectory_store.redis_server import EmbeddedRedis, start_embedded_redis
from trajectory_store.serve import serve_redis
from trajectory_store.stats import StoreStats
from trajectory_store.store import TrajectoryStore
from trajectory_store.streamed import StreamedEpisode

__all__ = [
    "StoreHandle",
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "EncodedEpisode",
    "Episode",
    "EpisodeNotFoundError",
    "InvalidEpisodeError",
    "RateLimitTimeout",
    "SampleTimeoutError",
    "StoreAuthError",
    "StoreConfig",
    "StoreConfigError",
    "StoreConnectionError",
    "StoreError",
    "StoreStats",
    "StreamedEpisode",
    "TrajectoryStore",
    "decode_episode",
    "encode_episode",
    "read_parquet_episodes",
    "serve_redis",
    "start_embedded_redis",
]
