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

from app.supervisor import UserError
from trajectory_store import start_embedded_redis
from trajectory_store.errors import StoreConnectionError
from trajectory_store.redis_client import connect_redis

REDIS_URL_ENV = "MEMUP_REDIS_URL"
DASHBOARD_HOST = "127.0.0.1"
DASHBOARD_PORT = 8265
RAY_CONNECT_TIMEOUT_S = 5.0


class StoreUnreachableError(UserError):
    """The run's store cannot serve it: no URL every node reaches, or the URL does not answer."""


log = logging.getLogger(__name__)


def check_store() -> None:
    """Before Ray starts: `MEMUP_REDIS_URL`, if set, answers (host:port in the message, never
    the password); a cluster run (RAY_ADDRESS) has one. No URL: the run embeds its own Redis."""
    url = os.environ.get(REDIS_URL_ENV)
    if not url:
        if os.environ.get("RAY_ADDRESS"):
            raise StoreUnreachableError(_NO_CLUSTER_STORE)
        return
    unset = f"or unset {REDIS_URL_ENV} to let the run start its own Redis"
    try:
        connect_redis(url).close()
    except StoreConnectionError as error:  # also the credentials refused; no password in it
        reason = str(error).rstrip(".")
        raise StoreUnreachableError(f"{REDIS_URL_ENV}: {reason}; {unset}") from None
    except ValueError as error:  # a URL redis-py cannot parse (the message holds no URL)
        raise StoreUnreachableError(
            f"{REDIS_URL_ENV} is not a Redis URL ({error}): write it as "
            f"redis://:PASSWORD@HOST:PORT/0, {unset}") from None


def check_ray_address() -> None:
    """Before Ray starts: the cluster of `RAY_ADDRESS` (HOST:PORT) accepts connections; Ray's
    own join would retry for minutes, logging a warning every few seconds."""
    address = os.environ.get("RAY_ADDRESS", "")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", "local" or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), RAY_CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise UserError(
            f"no Ray cluster answers at RAY_ADDRESS={address} ({error.strerror or error}): start "
            "it (`make cluster-up`), fix RAY_ADDRESS, or unset it to run on a local Ray"
        ) from None


def check_listen(bind: str, port: int | None) -> None:
    """`--bind` is an address of this machine and `--port` (if given) is free on it."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(bind, port or 0,
                                                         type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server does
            probe.bind(address)
    except OSError as error:
        where = f"{bind}:{port}" if port else bind
        raise UserError(f"cannot serve on {where} ({error.strerror or error}): pick a free "
                        "--port and an address of this machine for --bind (`memup node stop` "
                        "stops a store that `memup node start` left running)") from None


_NO_CLUSTER_STORE = (
    f"this run joins the Ray cluster at RAY_ADDRESS but {REDIS_URL_ENV} is not set: a Redis on "
    "this node's localhost cannot serve collectors on other nodes. Submit with `make "
    "train-distributed` (it hands the job the head's store, started by `memup node start "
    f"--head`), or set {REDIS_URL_ENV} to a Redis every node reaches"
)


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
        raise StoreUnreachableError(_NO_CLUSTER_STORE)
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
        try:
            context = ray.init(address="auto")
        except ConnectionError as error:  # e.g. RAY_ADDRESS=auto and no cluster on record
            raise UserError(
                f"cannot join the Ray cluster of RAY_ADDRESS={os.environ['RAY_ADDRESS']} "
                f"({str(error).strip().splitlines()[0][:200]}): start it (`make cluster-up`) or "
                "unset RAY_ADDRESS to run on a local Ray") from None
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
