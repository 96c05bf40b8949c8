"""`memup train` in a child process, as a user runs it (shared by the tests that train)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def memup_train(config: Path, run_dir: Path, timeout_s: float = 900) -> dict:
    """Trains `config` into `run_dir` (no dashboard); fails with the output's tail; returns the
    run's figures.json."""
    done = subprocess.run([sys.executable, "-m", "app.cli", "train", "--config", str(config),
                           "--run-dir", str(run_dir), "--no-dashboard"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads((Path(run_dir) / "figures.json").read_text())
