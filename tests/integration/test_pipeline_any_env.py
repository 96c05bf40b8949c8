"""`memup train` end to end on a third-party env (POPGym RepeatFirstEasy, tiny budgets)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from learner.metrics import read_metrics
from memup_module import load_codec, load_memory

pytest.importorskip("popgym")
ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke-popgym.yaml"


def memup(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args, "--no-dashboard"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_smoke_pipeline_on_popgym_writes_the_run_and_its_report(tmp_path):
    run_dir = tmp_path / "smoke-popgym"
    done = memup("train", "--config", str(SMOKE), "--run-dir", str(run_dir))
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["store/episodes"] >= 200
    assert "memup/memory_gain_nll" in figures and "memup/junction_accuracy" not in figures
    assert "memup/all_steps_gain_nll" in figures and "memup/last_step_gain_nll" in figures
    for prefix in ("impala/", "impala/baseline_"):
        assert -1.0 <= figures[f"{prefix}mean_return"] <= 1.0
        assert -1.0 <= figures[f"{prefix}sampled_mean_return"] <= 1.0
        assert figures[f"{prefix}env_steps"] >= 3000
        assert figures[f"{prefix}mmer"] >= figures[f"{prefix}sampled_mean_return"] - 1e-9
    memory = load_memory(run_dir / "memup" / "memory.pt")
    assert (memory.config.obs_dim, memory.config.num_actions) == (4, 4)
    m, _ = memory(torch.zeros(1, 3, memory.config.input_size))
    assert m.shape == (1, 3, 32)
    assert load_codec(run_dir / "memup" / "memory.pt")["kind"] == "exact"
    keys = set().union(*read_metrics(run_dir / "metrics.jsonl"))
    assert {"memup/memory_gain_nll", "memup/uncertain_accuracy", "memup/context_accuracy",
            "impala/train_return_mean", "impala/mmer"} <= keys
    report = (run_dir / "report.md").read_text()
    for picture in ("memup_curves.png", "detector_uncertainty.png", "impala_return.png"):
        assert picture in report and (run_dir / picture).is_file()
    trace = json.loads((run_dir / "memup" / "detector_trace.json").read_text())
    assert len(trace["scores"]) == len(trace["targets"]) == 51


def test_an_env_that_cannot_work_fails_before_any_work(tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text("env:\n  id: Pendulum-v1\n")
    done = memup("train", "--config", str(preset), "--run-dir", str(tmp_path / "run"))
    assert done.returncode != 0
    assert "Pendulum-v1" in done.stderr and "Discrete" in done.stderr
    assert not (tmp_path / "run").exists()
