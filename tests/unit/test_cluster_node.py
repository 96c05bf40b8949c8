"""`memup node`: what it starts it stops, by pid and process group, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app import cluster_node
from app.cluster_node import NodeError, NodeProcess


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))


def test_stop_ends_the_whole_process_group_it_started() -> None:
    worker = NodeProcess("sleeper", "marker-sleeper")
    # A parent that starts a child: both must go, as Ray's processes go with `ray start --block`.
    script = ("import subprocess, sys, time; print('ready', flush=True); "
              "subprocess.Popen(['sleep', '600']); time.sleep(600)")
    worker.start([sys.executable, "-c", script, "marker-sleeper"], dict(os.environ),
                 ready=lambda: "ready" in worker.log_tail())
    pid = worker.pid()
    assert pid is not None
    assert worker.stop(timeout_s=10)
    time.sleep(0.2)
    alive = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout
    assert alive.strip() == ""
    assert worker.pid() is None and not worker.pid_file.exists()


def test_a_recycled_pid_is_never_signalled() -> None:
    bystander = subprocess.Popen(["sleep", "600"])
    try:
        ghost = NodeProcess("ghost", "ray start")
        ghost.pid_file.parent.mkdir(parents=True)
        ghost.pid_file.write_text(str(bystander.pid))  # a pid file pointing at someone else
        assert ghost.pid() is None
        assert not ghost.stop()
        assert bystander.poll() is None
    finally:
        bystander.kill()


def test_a_process_that_dies_while_starting_reports_its_log() -> None:
    failing = NodeProcess("failing", "marker-failing")
    with pytest.raises(NodeError, match="(?s)exited while starting:.*boom"):
        failing.start([sys.executable, "-c", "print('boom'); raise SystemExit(3)",
                       "marker-failing"], dict(os.environ), ready=lambda: False)


def test_start_needs_exactly_one_role_and_the_cluster_token() -> None:
    with pytest.raises(ValueError, match="--head or --address"):
        cluster_node.start(head=True, address="10.0.0.1:6379", ray_args=[])
    with pytest.raises(NodeError, match="auth_token"):
        cluster_node.start(head=False, address="127.0.0.1:6379", ray_args=[])


def test_a_worker_is_addressed_by_its_route_to_the_head() -> None:
    assert cluster_node.node_ip("127.0.0.1:6379") == "127.0.0.1"
