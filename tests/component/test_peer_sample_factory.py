"""The peer bench end to end on a tiny budget: Sample Factory's APPO-LSTM on T-Maze-100 in its
own venv, its log read into figures, and none of its processes left. A benchmark, not part of
the project: it runs only where bench/.venv-sample-factory is installed (the bench makes it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.peer_sample_factory import PEER_VENV, leftovers, peer_task, run_peer

PYTHON = PEER_VENV / "bin" / "python"
pytestmark = pytest.mark.skipif(
    not PYTHON.exists(),
    reason=f"no Sample Factory venv at {PEER_VENV.name}: `python -m bench.peer_sample_factory` "
           "installs it (gymnasium < 1.0 and numpy < 2, never in the project's env)")


def test_sample_factory_trains_on_the_tmaze_and_its_figures_are_read(tmp_path: Path) -> None:
    task = peer_task("tmaze-100", budget=4096)
    assert (task.rnn_size, task.measure, task.low, task.high) == (256, "success_rate", -3.0, 4.0)
    row = run_peer(task, PYTHON, workers=1, out_dir=tmp_path)
    assert row["env_steps"] > 0 and row["env_steps_per_s"] > 0
    assert row["last"] is not None and 0.0 <= row["last"] <= 1.0  # a reward read, as success
    assert row["episodes"] > 0 and row["workers"] == 1
    assert not row["reached_goal"] and row["time_to_goal_s"] is None  # no full window yet
    assert (tmp_path / "peer.log").stat().st_size > 0
    assert leftovers(tmp_path) == []  # the runner, its workers, torch's shm manager
