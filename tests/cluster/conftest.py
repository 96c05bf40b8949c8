"""A three-host Ray cluster brought up as users do: `make cluster-up` (the real `ray up`) with a
generated copy of cluster-local.yaml pointing at hosts emulated by network namespaces, and
`make dashboard` forwarding the head's dashboard. Torn down by pid, never by `ray down` (it
stops every Ray process of the machine it runs on, and the emulated hosts share one process
table with everything else here).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from emulated_hosts import EmulatedHosts, Host, missing_requirements

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
# Each emulated host is a small machine: its Ray gets one CPU and a small object store.
HOST_RAY_ARGS = "--num-cpus=1 --object-store-memory=200000000"

_skip_reason = missing_requirements()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _skip_reason:
            item.add_marker(pytest.mark.skip(reason=f"emulated hosts: {_skip_reason}"))


@dataclass
class Cluster:
    hosts: EmulatedHosts
    yaml_path: Path
    env: dict[str, str]  # the submitting user's environment (own HOME, token, ssh key)
    address: str  # the forwarded dashboard

    def make(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["make", *args, f"CLUSTER={self.yaml_path}",
                               f"RAY_ADDRESS={self.address}"], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def head_python(self, code: str, timeout: float = 120) -> str:
        """Runs Python on the head with the cluster's interpreter (joins its Ray if asked)."""
        command = f"RAY_AUTH_MODE=token ~/memup-rl/.venv/bin/python -c {quote(code)}"
        return self.hosts.ssh("head", command, timeout=timeout).stdout


def quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_venv(host: Host) -> None:
    """Gives a host a ~/memup-rl/.venv that sees this test's installed packages, so the yaml's
    own `make install` finds the pins satisfied and installs only the project (installing torch
    and Ray afresh on three emulated hosts would take CI ten minutes)."""
    venv = host.home / "memup-rl" / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = next((VENV / "lib").glob("python3*/site-packages"))
    (site / "memup_test_runner.pth").write_text(f"{ours}\n")
    # The hosts reach no package index: build the project with the setuptools seen above.
    (venv / "pip.conf").write_text("[install]\nno-index = true\n# pip reads a store_false flag inverted: false turns build isolation off.\nno-build-isolation = false\n")
    for script in ("ray",):  # console scripts of the dependencies, pointed at this venv
        text = (VENV / "bin" / script).read_text().splitlines()
        text[0] = f"#!{venv / 'bin' / 'python'}"
        target = venv / "bin" / script
        target.write_text("\n".join(text) + "\n")
        target.chmod(0o755)


def cluster_yaml(hosts: EmulatedHosts, user_home: Path) -> Path:
    """cluster-local.yaml as a user edits it: the hosts' addresses, their SSH user and key."""
    config = yaml.safe_load((ROOT / "cluster-local.yaml").read_text())
    config["cluster_name"] = f"memup-test-{hosts.tag}"
    config["provider"]["head_ip"] = hosts["head"].ip
    config["provider"]["worker_ips"] = [hosts[n].ip for n in hosts.hosts if n != "head"]
    config["auth"] = {"ssh_user": "root", "ssh_private_key": str(hosts.key)}
    config["head_start_ray_commands"] = [c.replace("ray start", f"ray start {HOST_RAY_ARGS}")
                                         for c in config["head_start_ray_commands"]]
    config["worker_start_ray_commands"] = [c.replace("ray start", f"ray start {HOST_RAY_ARGS}")
                                           for c in config["worker_start_ray_commands"]]
    path = user_home / "cluster-test.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def alive_nodes(cluster: Cluster) -> int:
    code = ("import ray; ray.init(address='auto', logging_level='ERROR'); "
            "print(sum(n['Alive'] for n in ray.nodes()))")
    try:
        return int(cluster.head_python(code).strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return 0


def _launcher_control_dirs() -> set[Path]:
    """The launcher's SSH control folders: always below /tmp, whatever TMPDIR says."""
    return set(Path("/tmp").glob("ray_ssh_*/*"))


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    before = _launcher_control_dirs()
    try:
        yield from _cluster()
    finally:
        for folder in _launcher_control_dirs() - before:
            shutil.rmtree(folder, ignore_errors=True)


def _cluster() -> Iterator[Cluster]:
    with EmulatedHosts(["head", "worker1", "worker2"]) as hosts:
        user_home = hosts.base_dir / "user"
        (user_home / "tmp").mkdir(parents=True)
        for name in hosts.hosts:
            seed_venv(hosts[name])
        port = free_port()
        env = {**os.environ, "HOME": str(user_home), "TMPDIR": str(user_home / "tmp"),
               "PATH": f"{VENV / 'bin'}:{SYSTEM_PATH}", "RAY_USAGE_STATS_ENABLED": "0",
               "DASHBOARD_PORT": str(port)}
        env.pop("RAY_ADDRESS", None)
        cluster = Cluster(hosts, cluster_yaml(hosts, user_home), env, f"http://127.0.0.1:{port}")
        up = cluster.make("cluster-up", timeout=600)
        assert up.returncode == 0, (up.stdout + up.stderr)[-5000:]
        deadline = time.monotonic() + 300
        while alive_nodes(cluster) < 3:
            assert time.monotonic() < deadline, _head_logs(hosts)
            time.sleep(3)
        forward = subprocess.Popen(
            ["make", "dashboard", f"CLUSTER={cluster.yaml_path}"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for_port(port, forward)
            yield cluster
        finally:
            os.killpg(forward.pid, signal.SIGTERM)
            forward.wait(timeout=30)


def _wait_for_port(port: int, forward: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert forward.poll() is None and time.monotonic() < deadline, "dashboard forward failed"
        time.sleep(0.5)


def _head_logs(hosts: EmulatedHosts) -> str:
    found = hosts.ssh("head", "tail -n 40 ~/.memup/node/ray.log /tmp/ray/session_latest/logs/"
                      "monitor.* 2>&1", check=False)
    return f"the cluster never had 3 live nodes:\n{found.stdout[-6000:]}"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
