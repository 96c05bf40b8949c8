"""Peak resident memory of every process a run starts on this machine: the driver, Redis, Ray's
own servers and its workers (collectors, the MemUP learner, EnvRunners), sampled by a thread.

    with PeakMemory() as peaks:
        ...                                  # start Redis and Ray, run the phases
        figures.update(peaks.figures())      # {"memory/peak_rss_mb/redis": 101.2, ...}

Each figure is the largest peak among the processes of one role; `total` is the peak of their
sum, an upper bound: RSS counts shared pages (Ray's object store, torch's libraries) in every
process that maps them. Processes on other hosts of a cluster are not seen (they are not this
process's children).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from types import TracebackType

import psutil

PREFIX = "memory/peak_rss_mb/"
_SERVERS = (("redis-server", "redis"), ("raylet", "raylet"), ("gcs_server", "ray_gcs"),
            ("dashboard", "ray_dashboard"))


def role_of(cmdline: Sequence[str], is_driver: bool) -> str:
    """A process's role from its command line: Ray names a worker's process after what it
    runs (`ray::EpisodeCollector.collect`, `ray::IDLE`)."""
    if is_driver:
        return "driver"
    first = cmdline[0] if cmdline else ""
    if first.startswith("ray::"):
        actor = first[len("ray::"):].split(".")[0].split(" ")[0]
        return "ray_idle_worker" if actor in ("IDLE", "") else actor
    text = " ".join(cmdline[:3])
    return next((role for marker, role in _SERVERS if marker in text), "other")


class PeakMemory:
    """Samples this process and its descendants every `interval_s` seconds until closed."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self._interval_s = interval_s
        self._root = psutil.Process(os.getpid())
        self._peaks: dict[int, int] = {}
        self._roles: dict[int, str] = {}
        self._total = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    def sample(self) -> None:
        total = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            try:
                rss = process.memory_info().rss
                role = role_of(process.cmdline(), process.pid == self._root.pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue  # ended between the listing and the reading
            total += rss
            with self._lock:
                self._peaks[process.pid] = max(self._peaks.get(process.pid, 0), rss)
                # A worker process keeps the role of the last actor or task it ran.
                if role != "ray_idle_worker" or process.pid not in self._roles:
                    self._roles[process.pid] = role
        with self._lock:
            self._total = max(self._total, total)

    def figures(self) -> dict[str, float]:
        """`memory/peak_rss_mb/<role>` (the largest process of that role) and `.../total`."""
        with self._lock:
            by_role: dict[str, int] = {}
            for pid, peak in self._peaks.items():
                role = self._roles[pid]
                by_role[role] = max(by_role.get(role, 0), peak)
            megabytes = {f"{PREFIX}{role}": round(peak / 2**20, 1)
                         for role, peak in sorted(by_role.items())}
            return {**megabytes, f"{PREFIX}total": round(self._total / 2**20, 1)}


def merge_peaks(saved: dict[str, float], new: dict[str, float]) -> dict[str, float]:
    """A resumed run's peaks: the larger of what the earlier part saved and what it measured."""
    return {key: max(value, saved.get(key, 0.0)) for key, value in new.items()}
