"""`memup serve-redis` serves until SIGTERM or SIGINT, then stops Redis and exits 0 (no hang)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trajectory_store import TrajectoryStore

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_redis(pid: int) -> bool:
    try:
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_for(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not (path.is_file() and path.read_text().endswith("\n")):
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, f"no {path} after {START_TIMEOUT_S} s"
        time.sleep(0.05)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_stops_redis_and_the_command_exits_zero(tmp_path, stop_signal):
    data_dir = tmp_path / "redis"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve-redis", "--data-dir", str(data_dir),
         "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    redis_pid = None
    try:
        wait_for(data_dir / "url", process)
        redis_pid = int((data_dir / "redis.pid").read_text())
        url = (data_dir / "url").read_text().strip()
        assert f":{port}/" in url and is_redis(redis_pid)
        store = TrajectoryStore.connect(url, "served", capacity_steps=1000)
        assert store.stats().episodes == 0  # it really serves
        store.close()

        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=STOP_TIMEOUT_S)
        assert process.returncode == 0, output[-3000:]
        assert not is_redis(redis_pid)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if redis_pid is not None and is_redis(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)
