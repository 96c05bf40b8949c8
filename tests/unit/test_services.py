"""A run's servers: no silent local store on a cluster, a dashboard port of its own."""

from __future__ import annotations

import socket

import pytest

from app.services import (
    DASHBOARD_HOST,
    StoreUnreachableError,
    dashboard_port,
    redis_for_run,
)


def test_a_cluster_run_without_a_store_url_fails_with_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    monkeypatch.delenv("MEMUP_REDIS_URL", raising=False)
    with pytest.raises(StoreUnreachableError, match="MEMUP_REDIS_URL.*make train-distributed"):
        with redis_for_run(tmp_path / "redis"):
            pass
    assert not (tmp_path / "redis").exists()  # no embedded server was started


def test_a_given_store_url_is_used_as_it_is(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    monkeypatch.setenv("MEMUP_REDIS_URL", "redis://:pw@10.0.0.1:6380/0")
    with redis_for_run(tmp_path / "redis") as url:
        assert url == "redis://:pw@10.0.0.1:6380/0"


def test_a_taken_dashboard_port_gives_another_free_one() -> None:
    with socket.socket() as taken:
        taken.bind((DASHBOARD_HOST, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        other = dashboard_port(busy)
        assert other != busy
        with socket.socket() as probe:
            probe.bind((DASHBOARD_HOST, other))  # free indeed
    assert dashboard_port(other) == other
