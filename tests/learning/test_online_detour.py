"""The online loop solves the short Detour T-Maze (configs/detour-tmaze-short.yaml; about ten
minutes on 2 cores, `make test-slow`): a random policy never brings the cue to the junction;
the exploring EnvRunners' episodes teach memory and heads to go back for the cue.

Two-phase with the same exploration solved it in one of two runs too (docs/results.md §7), so
this test does not claim that online beats it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRESET = ROOT / "configs" / "detour-tmaze-short.yaml"


def test_the_online_loop_solves_the_short_detour(tmp_path):
    run_dir = tmp_path / "online"
    done = subprocess.run([sys.executable, "-m", "app.cli", "train", "--config", str(PRESET),
                           "--run-dir", str(run_dir), "--no-dashboard"], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["impala/success_rate"] >= 0.99, figures
    assert figures["online/memory_versions"] >= 10
