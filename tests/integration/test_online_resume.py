"""An online run killed with SIGKILL while IMPALA trains continues both learners on --resume:
IMPALA from its newest algorithm checkpoint, MemUP from its newest checkpoint."""

import subprocess
import sys
import time
from pathlib import Path

import yaml

from learner.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
ONLINE = ROOT / "configs" / "smoke-online.yaml"


def memup(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args, "--no-dashboard"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def impala_rounds(run_dir: Path) -> list[float]:
    return [row["impala/env_steps"] for row in read_metrics(run_dir / "metrics.jsonl")
            if "impala/env_steps" in row]


def rounds_so_far(run_dir: Path) -> list[float]:
    """The rounds of a run still writing: none before the file, none while a line is half written."""
    try:
        return impala_rounds(run_dir)
    except (FileNotFoundError, ValueError):
        return []


def test_a_killed_online_run_resumes_both_learners(tmp_path):
    preset = yaml.safe_load(ONLINE.read_text())
    # A checkpoint every iteration and a round every other one: the kill lands right after the
    # first round, two iterations before the next round could reach the target and end the run.
    preset["impala"].update(max_env_steps=40000, checkpoint_every_iterations=1,
                            eval_every_iterations=2)
    preset["memup"].update(checkpoint_every=50)
    config = tmp_path / "online.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / "run"

    first = memup("train", "--config", str(config), "--run-dir", str(run_dir))
    deadline = time.monotonic() + 300
    while not rounds_so_far(run_dir):
        assert first.poll() is None and time.monotonic() < deadline, first.stdout.read()[-3000:]
        time.sleep(0.05)
    first.kill()  # kill -9
    first.communicate(timeout=60)
    before = impala_rounds(run_dir)
    assert not (run_dir / "policy").exists(), "the killed run finished before the kill"
    assert (run_dir / "policy_checkpoints" / "latest").is_file()
    assert list((run_dir / "memup" / "checkpoints").glob("ckpt-*.pt"))

    resumed = memup("train", "--config", str(config), "--run-dir", str(run_dir), "--resume")
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output[-4000:]
    assert (run_dir / "policy").is_dir() and not (run_dir / "policy_checkpoints").exists()
    after = impala_rounds(run_dir)[len(before):]
    # A fresh start would evaluate first at the same step count as the killed run did; the
    # resumed one goes on from the checkpoint of that round's iteration, two iterations later.
    assert before and after and after[0] > 1.5 * before[0], (before, after)
    assert "impala: continues from" in output
