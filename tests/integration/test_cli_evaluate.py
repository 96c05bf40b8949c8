"""`memup evaluate` on a run dir: the table in figures.json, report.md and its plot; clear errors.

The run dir is a real one (config.yaml of the smoke preset, a saved MemUPPolicyModule in
policy/) whose policy provably remembers the cue, so every figure is known in advance.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.config import load_config, save_config
from learner.run_dir import RunDir
from policies import remembering, small_policy

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"


def run_dir_with_policy(root: Path, *, policy: bool = True) -> RunDir:
    run = RunDir.create(root)
    config = load_config(SMOKE)
    save_config(config, run.config)
    if policy:
        remembering(small_policy(config.env)).save_to_path(run.policy)
    return run


def test_evaluate_at_two_lengths_writes_figures_report_and_plot(tmp_path):
    run = run_dir_with_policy(tmp_path / "run")
    run.figures.write_text(json.dumps({"impala/success_rate": 1.0}))
    process = subprocess.run(
        [sys.executable, "-m", "app.cli", "evaluate", "--run-dir", str(run.root),
         "--corridor-length", "10", "1e3", "--episodes", "16", "--probe-episodes", "32",
         "--threads", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "| 1,000 | 16 | 1.000 | 4.0 | 1.000 |" in process.stdout
    figures = json.loads(run.figures.read_text())
    assert figures["impala/success_rate"] == 1.0  # kept
    assert figures["eval/trained_length"] == 10
    for length in (10, 1000):
        assert figures[f"eval/L={length}/success_rate"] == 1.0
        assert figures[f"eval/L={length}/cue_accuracy"] == 1.0
        assert figures[f"eval/L={length}/mean_return"] == 4.0
        assert figures[f"eval/L={length}/episodes"] == 16
        assert figures[f"eval/L={length}/wall_s"] > 0
    report = run.report.read_text()
    assert "## Length generalisation" in report and "| 10 | 16 | 1.000 |" in report
    assert "![Length generalisation](length_generalisation.png)" in report
    assert (run.root / "length_generalisation.png").stat().st_size > 0


def test_missing_run_dir_says_how_to_make_one(tmp_path, capsys):
    assert cli.main(["evaluate", "--run-dir", str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err
    assert "no run dir at" in error and "memup train" in error


def test_run_without_a_policy_says_what_to_train(tmp_path, capsys):
    run = run_dir_with_policy(tmp_path / "run", policy=False)
    assert cli.main(["evaluate", "--run-dir", str(run.root)]) == 2
    error = capsys.readouterr().err
    assert "no trained policy in policy/" in error and "memup policy" in error


def test_baseline_missing_names_its_command(tmp_path, capsys):
    run = run_dir_with_policy(tmp_path / "run")
    assert cli.main(["evaluate", "--run-dir", str(run.root), "--baseline"]) == 2
    assert "memup policy --baseline" in capsys.readouterr().err


def test_corridor_length_below_one_is_refused(tmp_path, capsys):
    run = run_dir_with_policy(tmp_path / "run")
    for bad in ("0", "-5", "2.5", "ten"):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["evaluate", "--run-dir", str(run.root), "--corridor-length", bad])
        assert exit_.value.code == 2
        error = capsys.readouterr().err
        assert "--corridor-length" in error and "must be an integer >= 1" in error, error
    assert not run.figures.exists()
