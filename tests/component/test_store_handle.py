"""`StoreHandle`: one value for where a store lives and how it is set up (docs/design.md §4)."""

from __future__ import annotations

import pickle

import pytest

from trajectory_store import StoreConfig, StoreConfigError, StoreHandle, TrajectoryStore


def test_a_handle_creates_then_attaches_with_the_stored_settings(redis_server, store_name):
    config = StoreConfig(capacity_steps=5_000, min_size_to_sample=3, compression=None)
    store = StoreHandle(redis_server.url, store_name, config).connect(seed=0)
    try:
        # What travels to an actor: the handle, never a connection.
        attached = pickle.loads(pickle.dumps(StoreHandle(redis_server.url, store_name)))
        again = attached.connect()
        assert again.config.capacity_steps == 5_000 and again.config.min_size_to_sample == 3
        again.close()
    finally:
        store.delete()
        store.close()


def test_its_repr_never_shows_the_password(redis_server, store_name):
    handle = StoreHandle(redis_server.url, store_name)
    password = redis_server.password_file.read_text().strip()
    assert password and password not in repr(handle) and "***" in repr(handle)


def test_connect_names_a_setting_that_does_not_exist(redis_server, store_name):
    with pytest.raises(StoreConfigError, match="capacity is not a store setting.*capacity_steps"):
        TrajectoryStore.connect(redis_server.url, store_name, capacity=10)
