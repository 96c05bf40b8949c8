"""The servers a run needs: Redis (embedded unless MEMUP_REDIS_URL is set) and Ray.

On a cluster (RAY_ADDRESS set: a Ray Job, `ray start`) the store must be one every node reaches,
so MEMUP_REDIS_URL is required there: an embedded Redis on this node's localhost would leave
collectors on other nodes failing to connect."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import Iterator

import ray

from trajectory_store import start_embedded_redis

REDIS_URL_ENV = "MEMUP_REDIS_URL"
DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8265


class StoreUnreachableError(RuntimeError):
    """A cluster run was given no store URL every node can reach."""

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
    if os.environ.get("RAY_ADDRESS"):
        raise StoreUnreachableError(
            f"this run joins the Ray cluster at RAY_ADDRESS but {REDIS_URL_ENV} is not set: a "
            "Redis on this node's localhost cannot serve collectors on other nodes. Submit with "
            "`make train-distributed` (it hands the job the head's store, started by `memup node "
            f"start --head`), or set {REDIS_URL_ENV} to a Redis every node reaches"
        )
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
            dashboard_port=dashboard_port() if dashboard else DASHBOARD_PORT,
        )
    try:
        yield {"dashboard_url": context.dashboard_url or ""}
    finally:
        ray.shutdown()


def dashboard_port(preferred: int = DASHBOARD_PORT) -> int:
    """`preferred` if free on localhost, else any free port: a second run beside a first one
    gets a dashboard of its own instead of failing to bind."""
    with socket.socket() as probe:
        try:
            probe.bind((DASHBOARD_HOST, preferred))
            return preferred
        except OSError:
            probe.bind((DASHBOARD_HOST, 0))
            return probe.getsockname()[1]


def dashboard_help(url: str) -> str:
    """How to get past the dashboard's token prompt (token authentication stays on)."""
    return (f"Ray dashboard: http://{url} (it asks for Ray's token: print it with "
            "`.venv/bin/ray get-auth-token`; it is kept in ~/.ray/auth_token)")
