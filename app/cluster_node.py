"""This project's processes on one cluster node, started and stopped by pid (docs/design.md §12).

    memup node start --head -- ray start ARGS         # the store's Redis + `ray start --head`
    memup node start --address HEAD:6379 -- ray start  # a worker joins the head
    memup node stop                                    # only what `node start` started here

cluster.yaml and cluster-local.yaml call these instead of Ray's own stop command or a kill by
process name, which act on every Ray of the machine. Each node runs `ray start --block` in a
session of its own with this interpreter's `ray`, with token authentication on (the token in
~/.ray/auth_token, copied to every node by the yamls' file_mounts) and a custom resource that
placement relies on: `memup_head` on the head (learners, the run dir), `memup_worker` on the
workers (collectors, EnvRunners). Pids live in ~/.memup/node/; `stop` signals those process
groups only, and only while the pid still runs the command it recorded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actors.placement import HEAD_RESOURCE, WORKER_RESOURCE
from app.supervisor import UserError
from trajectory_store.serve import URL_FILE

STATE_DIR = Path("~/.memup/node")
REDIS_DIR = Path("~/memup-redis")  # serve-redis writes the store's URL to URL_FILE here
REDIS_PORT = 6380
READY_TIMEOUT_S = 120.0


class NodeError(UserError):
    """A node process did not start, or cannot: one line, with the last line of its log and
    the log's path."""


@dataclass(frozen=True)
class NodeProcess:
    """One process this module started: its pid file, log and the words of its command line
    that identify it (so a recycled pid is never signalled)."""

    name: str
    marker: str

    @property
    def pid_file(self) -> Path:
        return STATE_DIR.expanduser() / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STATE_DIR.expanduser() / f"{self.name}.log"

    def pid(self) -> int | None:
        """The recorded pid while it still runs this process, else None. What `start` made
        leads a process group of its own and (once exec'd) names the marker."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            group = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, ValueError, IndexError):
            return None
        if group != pid:
            return None
        # An empty command line: the process is between fork and exec, or exiting.
        return pid if not cmdline or self.marker.encode() in cmdline else None

    def start(self, command: list[str], env: dict[str, str], ready: Callable[[], bool]) -> None:
        """Starts `command` in a session of its own and waits until `ready()`."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("w") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            if process.poll() is not None:
                raise NodeError(f"{self.name} exited while starting: {self.last_log_line()} "
                                f"(its log: {self.log_file})")
            if time.monotonic() > deadline:
                self.stop()
                raise NodeError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s: "
                                f"{self.last_log_line()} (its log: {self.log_file})")
            time.sleep(0.5)

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM to its process group, SIGKILL after `timeout_s`; True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_group(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def last_log_line(self) -> str:
        lines = [line.strip() for line in self.log_tail().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "(empty log)"


RAY = NodeProcess("ray", "ray start")
REDIS = NodeProcess("redis", "serve-redis")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def node_ip(head_address: str | None) -> str:
    """This node's address as the cluster sees it: on a worker the source address of the route
    to the head; on the head its first non-loopback address (`hostname -I`)."""
    if head_address:
        host, port = parse_address(head_address)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((host, port))  # UDP: picks the route, sends nothing
            except OSError as error:  # an unknown name, no route
                raise NodeError(f"no route to the head at --address {head_address} "
                                f"({error.strerror or error}): pass the head's HOST:PORT") from None
            return probe.getsockname()[0]
    found = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    ips = [ip for ip in found if ":" not in ip and not ip.startswith("127.")]
    if not ips:
        raise NodeError("this machine has no non-loopback IPv4 address for the cluster")
    return ips[0]


def parse_address(address: str) -> tuple[str, int]:
    """(host, port) of a worker's `--address HOST:PORT`."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NodeError(f"--address {address!r} is not HOST:PORT: pass the head's address and "
                        "Ray port, e.g. --address 10.0.0.1:6379")
    return host, int(port)


def start(*, head: bool, address: str | None, ray_args: list[str],
          redis_port: int = REDIS_PORT) -> str:
    """Stops what an earlier `start` left here, then starts this node; returns its address."""
    if head == bool(address):
        raise ValueError("give either --head or --address HEAD_IP:PORT")
    if address:
        parse_address(address)  # before stopping what runs here
    stop()
    ip = node_ip(address)
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    if not Path("~/.ray/auth_token").expanduser().is_file():
        raise NodeError("no Ray token at ~/.ray/auth_token: the yamls copy the submitting "
                        "machine's token there (make cluster-up creates it)")
    if head:
        # The v2 autoscaler counts the head among the local provider's workers, so it would
        # start one worker too few; v1 launches every listed worker.
        env["RAY_enable_autoscaler_v2"] = "0"
        _start_redis(ip, redis_port, env)
    resource = HEAD_RESOURCE if head else WORKER_RESOURCE
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "ray"), "start", "--block", f"--node-ip-address={ip}",
               f"--resources={json.dumps({resource: 1})}",
               *(["--head"] if head else [f"--address={address}"]), *ray_args]
    # Ray's own processes inherit this interpreter's folder first on PATH.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    RAY.start(command, env, ready=lambda: "Ray runtime started" in RAY.log_tail(100_000))
    return ip


def _start_redis(ip: str, port: int, env: dict[str, str]) -> None:
    url = REDIS_DIR.expanduser() / URL_FILE
    url.unlink(missing_ok=True)
    REDIS.start([sys.executable, "-m", "app.cli", "serve-redis", "--data-dir",
                 str(url.parent), "--bind", "0.0.0.0", "--port", str(port), "--advertise-host",
                 ip], env, ready=url.exists)


def stop() -> list[str]:
    """Stops Ray, then the store's Redis, if `start` started them here; returns their names."""
    return [process.name for process in (RAY, REDIS) if process.stop()]
