"""Redis fixtures: one real embedded redis-server per test session, a fresh store name per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from trajectory_store import EmbeddedRedis, TrajectoryStore, start_embedded_redis


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
