"""Connection failures give clear errors, fast, naming host:port and never the password."""

from __future__ import annotations

import socket
import traceback
import time

import pytest

from trajectory_store import StoreAuthError, StoreConnectionError, TrajectoryStore, start_embedded_redis
from trajectory_store.redis_client import connect_redis

_PASSWORD = "d3adb33fd3adb33fd3adb33f"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_fails_within_10_s_naming_host_and_port() -> None:
    port = _free_port()  # nothing listens here
    start = time.monotonic()
    with pytest.raises(StoreConnectionError) as info:
        TrajectoryStore.connect(f"redis://:{_PASSWORD}@127.0.0.1:{port}/0", "x", capacity_steps=10)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "cannot reach Redis" in message
    assert _PASSWORD not in "".join(traceback.format_exception(info.value))


def test_a_server_that_accepts_but_never_answers_fails_within_10_s() -> None:
    with socket.socket() as listener:  # the kernel completes TCP handshakes; nobody replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(StoreConnectionError, match=f"127.0.0.1:{port}") as info:
            connect_redis(f"redis://:{_PASSWORD}@127.0.0.1:{port}/0", connect_timeout_s=2.0)
        assert time.monotonic() - start < 10
        assert _PASSWORD not in str(info.value)


def test_wrong_password_is_a_clear_auth_error(redis_server) -> None:
    url = redis_server.url.replace(redis_server.password_file.read_text().strip(), _PASSWORD)
    endpoint = f"{redis_server.host}:{redis_server.port}"
    with pytest.raises(StoreAuthError, match=f"{endpoint} refused the credentials") as info:
        TrajectoryStore.connect(url, "x", capacity_steps=10)
    assert _PASSWORD not in str(info.value)
    assert redis_server.password_file.read_text().strip() not in str(info.value)


def test_missing_password_is_a_clear_auth_error(redis_server) -> None:
    with pytest.raises(StoreAuthError, match="PASSWORD"):
        TrajectoryStore.connect(f"redis://{redis_server.host}:{redis_server.port}/0", "x", capacity_steps=10)


def test_losing_the_server_mid_run_names_it(tmp_path) -> None:
    server = start_embedded_redis(tmp_path / "redis")
    store = TrajectoryStore.connect(server.url, "x", capacity_steps=10)
    server.stop()
    with pytest.raises(StoreConnectionError, match=f"127.0.0.1:{server.port}") as info:
        store.stats()
    assert server.password_file.read_text().strip() not in str(info.value)
    store.close()


def test_not_a_redis_url() -> None:
    with pytest.raises(StoreConnectionError, match="not a Redis URL"):
        connect_redis("http://127.0.0.1:80/")
