"""Online beats two-phase on the short Detour T-Maze (configs/detour-tmaze-short.yaml; about
half an hour on 2 cores, `make test-slow`): a random policy never brings the cue to the
junction, so the two-phase memory has nothing to learn; online, the policy's exploring
episodes teach memory and heads to go back for the cue."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PRESET = ROOT / "configs" / "detour-tmaze-short.yaml"


def train(preset: dict, tmp_path: Path, name: str) -> dict:
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "app.cli", "train", "--config", str(config),
                           "--run-dir", str(run_dir), "--no-dashboard"], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads((run_dir / "figures.json").read_text())


def test_online_solves_the_short_detour_where_two_phase_stays_at_chance(tmp_path):
    preset = yaml.safe_load(PRESET.read_text())
    online = train(preset, tmp_path, "online")
    assert online["impala/success_rate"] >= 0.99, online
    two_phase = train({**preset, "mode": "two-phase",
                       "memup": {**preset["memup"], "max_updates": 3000}}, tmp_path, "two-phase")
    assert two_phase["impala/success_rate"] <= 0.6, two_phase
