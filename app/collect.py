"""Phase 0: fill the run's store with episodes from the collector fleet.

Each collector's summary (`collector/...`, its node included) and the store's figures
(`store/...`) go to the run's metrics.jsonl."""

from __future__ import annotations

import logging

from tqdm import tqdm

from actors import collect_episodes
from app.config import RunConfig
from learner.metrics import MetricsWriter
from learner.run_dir import RunDir
from trajectory_store import StoreHandle, StoreStats

log = logging.getLogger(__name__)


def ensure_episodes(config: RunConfig, run: RunDir, redis_url: str) -> StoreStats:
    """Collects until the store holds `collect.num_episodes` episodes (none if it already does)."""
    handle = StoreHandle(redis_url, run.store_name, config.store)
    store = handle.connect()
    try:
        missing = config.collect.num_episodes - store.stats().episodes
        summaries = []
        if missing > 0:
            log.info("collecting %d episodes with %d collectors", missing,
                     config.collect.num_collectors)
            with tqdm(total=missing, desc="collect", unit="ep") as bar:
                summaries = collect_episodes(
                    config.env, config.collect, handle, num_episodes=missing,
                    base_seed=config.seed,
                    on_progress=lambda done: bar.update(done - bar.n),
                )
        stats = store.stats()
        with MetricsWriter(run.metrics) as writer:
            for summary in summaries:
                writer.write(stats.steps, summary)
            writer.write(stats.steps, stats.as_metrics())
        return stats
    finally:
        store.close()
