"""Tiers by folder, and the real servers tests share: one embedded Redis per session (tests
isolate by store name) and a local Ray per test module."""

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trajectory_store import EmbeddedRedis, TrajectoryStore, start_embedded_redis

_TIERS = ("unit", "component", "integration", "learning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in _TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance (2 CPUs, no dashboard) for the tests of one module."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real redis-server (AOF, password) shared by the session; tests isolate by store name."""
    server = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def store_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_store(redis_server: EmbeddedRedis, store_name: str) -> Iterator[Callable[..., TrajectoryStore]]:
    """`make_store(**settings)` connects stores to this test's name; all are deleted afterwards."""
    stores: list[TrajectoryStore] = []

    def make(name: str = store_name, **settings: Any) -> TrajectoryStore:
        settings.setdefault("capacity_steps", 1_000_000)
        store = TrajectoryStore.connect(redis_server.url, name, **settings)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.delete()
        store.close()


@pytest.fixture
def fresh_store(make_store: Callable[..., TrajectoryStore]) -> TrajectoryStore:
    """An empty store (capacity 1M steps, no rate limiter) on the session's server."""
    return make_store(seed=0)


_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    # After the summary, leave without interpreter teardown: native threads of Ray, gRPC and
    # torch have crashed it (a segfault after "508 passed" turned a green run red).
    if _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
