"""Hosts emulated on one machine: a Linux network namespace each, joined by a bridge.

    with EmulatedHosts(["head", "worker1", "worker2"]) as hosts:
        hosts["head"].ip                  # 10.77.N.2, reachable from here over the bridge
        hosts.ssh("head", "hostname -I")  # as a user would, with hosts.key
        hosts.kill("worker1")             # SIGKILL every process of that host: the host dies

Each host gets what tells real machines apart for Ray and the cluster launcher: its own
address, its own sshd, its own home (root's home comes from a per-namespace /etc/passwd, which
`ip netns exec` binds over /etc) and its own /tmp/ray, Ray's folder for sessions, logs and the
launcher's cluster state (bind-mounted inside the host's mount namespace; the rest of /tmp
stays shared, so a test run from a checkout below /tmp still finds its files).
They share the process table, so every process is stopped by pid (`ip netns pids`), never by
name. Everything made here (namespaces, links, /etc/netns entries, processes) is removed on
exit, also when a test fails. Needs root, `ip` and sshd.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]


def missing_requirements() -> str | None:
    """Why hosts cannot be emulated here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, sshd)"
    for tool in ("ip", "ssh", "ssh-keygen", "rsync"):
        if shutil.which(tool) is None:
            return f"needs `{tool}` (Debian: iproute2, openssh-client, rsync)"
    if not Path(SSHD).exists():
        return "needs sshd (Debian: openssh-server)"
    probe = f"memup-probe-{uuid.uuid4().hex[:6]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "`ip netns add` is not permitted in this sandbox"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    netns: str
    root: Path  # everything of this host lives below: home/, tmp/, sshd files

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def ray_dir(self) -> Path:
        """What the host sees as /tmp/ray."""
        return self.root / "ray"


class EmulatedHosts:
    def __init__(self, names: list[str]) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.subnet = f"10.77.{random.randint(1, 250)}"
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"memup-hosts-{self.tag}-", dir="/var/tmp"))
        self.bridge = f"mbr{self.tag}"
        self.key = self.base_dir / "id_ed25519"
        self.hosts = {
            name: Host(name, f"{self.subnet}.{i + 2}", f"memup-{self.tag}-{name}",
                       self.base_dir / name)
            for i, name in enumerate(names)
        }
        self._sshd: dict[str, subprocess.Popen] = {}

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def __enter__(self) -> "EmulatedHosts":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setting up -----------------------------------------------------------------------------

    def _start(self) -> None:
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.base_dir / "host_key"))
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        for index, host in enumerate(self.hosts.values()):
            self._make_host(index, host)
        for host in self.hosts.values():
            self._wait_for_ssh(host)

    def _make_host(self, index: int, host: Host) -> None:
        outside, inside = f"mv{self.tag}{index}", f"mh{self.tag}{index}"
        _run("ip", "netns", "add", host.netns)
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        _run("ip", "link", "set", inside, "netns", host.netns)
        _run("ip", "link", "set", outside, "master", self.bridge, "up")
        in_ns = ("ip", "netns", "exec", host.netns)
        _run(*in_ns, "ip", "addr", "add", f"{host.ip}/24", "dev", inside)
        _run(*in_ns, "ip", "link", "set", inside, "up")
        _run(*in_ns, "ip", "link", "set", "lo", "up")
        for folder in (host.home / ".ssh", host.ray_dir):
            folder.mkdir(parents=True)
        Path("/tmp/ray").mkdir(exist_ok=True)  # the mount point; Ray makes it on first use too
        authorized = host.home / ".ssh" / "authorized_keys"
        authorized.write_text(Path(f"{self.key}.pub").read_text())
        authorized.chmod(0o600)
        self._own_etc(host)
        config = host.root / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {host.ip}", f"HostKey {self.base_dir / 'host_key'}",
            f"PidFile {host.root / 'sshd.pid'}", "PermitRootLogin prohibit-password",
            "PasswordAuthentication no", "UsePAM no", "StrictModes no",
            "AuthorizedKeysFile .ssh/authorized_keys", "MaxStartups 100", "MaxSessions 100",
            # The launcher's commands expect a login-like environment: a PATH with the usual
            # system folders (ssh gives root a minimal one otherwise).
            "SetEnv PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "",
        ]))
        log = (host.root / "sshd.log").open("w")
        self._sshd[host.name] = subprocess.Popen(
            [*in_ns, "sh", "-c",
             f'mount --bind "{host.ray_dir}" /tmp/ray && exec {SSHD} -D -e -f "{config}"'],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def _own_etc(self, host: Host) -> None:
        """`ip netns exec` binds /etc/netns/NS/* over /etc: root gets this host's home."""
        etc = Path("/etc/netns") / host.netns
        etc.mkdir(parents=True)
        lines = []
        for line in Path("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "root":
                fields[5] = str(host.home)
            lines.append(":".join(fields))
        (etc / "passwd").write_text("\n".join(lines) + "\n")

    def _wait_for_ssh(self, host: Host, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while self.ssh(host.name, "true", check=False).returncode != 0:
            if time.monotonic() > deadline:
                log = (host.root / "sshd.log").read_text()
                raise RuntimeError(f"sshd on {host.name} ({host.ip}) did not answer: {log}")
            time.sleep(0.3)

    # -- using ----------------------------------------------------------------------------------

    def ssh(self, name: str, command: str, *, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Runs `command` on a host through its sshd, as the cluster launcher does."""
        return subprocess.run(
            ["ssh", *SSH_OPTIONS, "-i", str(self.key), f"root@{self.hosts[name].ip}", command],
            capture_output=True, text=True, check=check, timeout=timeout,
        )

    def pids(self, name: str) -> list[int]:
        """Every process living in the host's network namespace."""
        found = subprocess.run(["ip", "netns", "pids", self.hosts[name].netns],
                               capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def kill(self, name: str) -> None:
        """The host dies: SIGKILL to each of its processes (until none is left)."""
        for _ in range(20):
            pids = self.pids(name)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)

    # -- tearing down ---------------------------------------------------------------------------

    def close(self) -> None:
        for host in self.hosts.values():
            self.kill(host.name)
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
            shutil.rmtree(Path("/etc/netns") / host.netns, ignore_errors=True)
        for process in self._sshd.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.base_dir, ignore_errors=True)
