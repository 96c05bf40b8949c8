"""A run's servers: no silent local store on a cluster, a dashboard port of its own."""

from __future__ import annotations

import socket

import pytest

from app import services
from app.services import (
    DASHBOARD_HOST,
    StoreUnreachableError,
    check_listen,
    check_ray_address,
    check_store,
    dashboard_port,
    redis_for_run,
)
from app.supervisor import UserError
from trajectory_store.errors import StoreConnectionError
from trajectory_store.redis_client import endpoint_of


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_store_check_names_the_endpoint_never_the_password(monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("MEMUP_REDIS_URL", f"redis://:hunter2@127.0.0.1:{_free_port()}/0")
    monkeypatch.setattr(services, "connect_redis",
                        lambda url, **_: (_ for _ in ()).throw(StoreConnectionError(
                            f"cannot reach Redis at {endpoint_of(url)} (1 attempt(s))")))
    with pytest.raises(StoreUnreachableError) as caught:
        check_store()
    assert "MEMUP_REDIS_URL: cannot reach Redis at 127.0.0.1:" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "unset MEMUP_REDIS_URL" in str(caught.value)
    monkeypatch.undo()  # the real client: a URL it cannot parse
    monkeypatch.setenv("MEMUP_REDIS_URL", "redis://:hunter2@127.0.0.1:notaport/0")
    with pytest.raises(StoreUnreachableError, match="not a Redis URL") as caught:
        check_store()
    assert "hunter2" not in str(caught.value)


def test_the_store_check_needs_a_url_on_a_cluster_only(monkeypatch) -> None:
    monkeypatch.delenv("MEMUP_REDIS_URL", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    check_store()  # the run embeds its own Redis
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(StoreUnreachableError, match="MEMUP_REDIS_URL is not set"):
        check_store()


def test_an_unreachable_ray_address_is_named_with_the_fix(monkeypatch) -> None:
    port = _free_port()
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(UserError, match=f"RAY_ADDRESS=127.0.0.1:{port}.*make cluster-up"):
        check_ray_address()
    for resolved_by_ray in ("auto", "local", "http://127.0.0.1:8265", ""):
        monkeypatch.setenv("RAY_ADDRESS", resolved_by_ray)
        check_ray_address()
    with socket.socket() as head:
        head.bind(("127.0.0.1", 0))
        head.listen()
        monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{head.getsockname()[1]}")
        check_ray_address()


def test_a_port_in_use_or_a_foreign_address_cannot_be_served_on() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"127.0.0.1:{port} .*--port"):
            check_listen("127.0.0.1", port)
    check_listen("127.0.0.1", None)
    with pytest.raises(UserError, match="--bind"):
        check_listen("192.0.2.77", None)  # TEST-NET: no address of this machine


def test_a_cluster_that_cannot_be_joined_is_one_user_error(monkeypatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    monkeypatch.setattr(services.ray, "is_initialized", lambda: False)

    def no_cluster(**_):
        raise ConnectionError("Could not find any running Ray instance.\nmore")

    monkeypatch.setattr(services.ray, "init", no_cluster)
    with pytest.raises(UserError, match=r"RAY_ADDRESS=auto \(Could not find any running Ray "
                                        r"instance.\): start it"):
        with services.ray_for_run():
            pass
