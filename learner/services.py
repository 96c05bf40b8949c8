"""The servers a run needs: Redis (embedded unless MEMUP_REDIS_URL is set) and Ray."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator

import ray

from trajectory_store import start_embedded_redis

REDIS_URL_ENV = "MEMUP_REDIS_URL"
DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8265

log = logging.getLogger(__name__)


@contextlib.contextmanager
def redis_for_run(data_dir: Path) -> Iterator[str]:
    """Yields the Redis URL of the run: `MEMUP_REDIS_URL` if set, else an embedded server
    whose data lives in `data_dir` (the run's `redis/`, so `--resume` finds the episodes
    again) and which is stopped on exit, also on error and Ctrl-C."""
    external = os.environ.get(REDIS_URL_ENV)
    if external:
        yield external
        return
    server = start_embedded_redis(data_dir)
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def ray_for_run(*, num_cpus: int | None = None, dashboard: bool = True) -> Iterator[dict]:
    """Joins the Ray cluster of `RAY_ADDRESS` (a Ray Job, `ray start`) or starts a local one with
    its dashboard on localhost; shuts down only what it started."""
    if ray.is_initialized():
        yield {"dashboard_url": ""}
        return
    if os.environ.get("RAY_ADDRESS"):
        context = ray.init(address="auto")
    else:
        # "local" always starts a fresh instance, never one a stale `ray start` left on record.
        context = ray.init(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=dashboard,
            dashboard_host=DASHBOARD_HOST,
            dashboard_port=DASHBOARD_PORT,
        )
    try:
        dashboard_url = context.dashboard_url or ""
        if dashboard_url:
            log.info("Ray dashboard: http://%s", dashboard_url)
        yield {"dashboard_url": dashboard_url}
    finally:
        ray.shutdown()
