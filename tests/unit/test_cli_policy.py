"""`memup policy --memory X --baseline`: both the policy and the baseline take X (the baseline is
sized from it), not the run's own memory file."""

import contextlib
from pathlib import Path

import app.pipeline
import app.services
from app import cli, supervisor
from app.config import load_config
from memup_module import Memory, save_memory

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"


def test_policy_and_baseline_both_use_the_memory_passed_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv(supervisor.CHILD_ENV, "1")  # in this process: phase() is patched here
    calls = []

    def phase(config, run, *, baseline, memory_path=None):
        calls.append((baseline, memory_path, run.root))
        return {}

    monkeypatch.setattr(app.pipeline, "train_policy_phase", phase)
    monkeypatch.setattr(app.services, "ray_for_run", lambda **_: contextlib.nullcontext({}))
    memory = tmp_path / "elsewhere" / "memory.pt"
    save_memory(memory, Memory(load_config(SMOKE).memup.memory))  # checked before Ray starts
    run_dir = tmp_path / "run"
    code = cli.main(["policy", "--config", str(SMOKE), "--run-dir", str(run_dir),
                     "--memory", str(memory), "--baseline"])
    assert code == 0
    assert calls == [(False, memory, run_dir.resolve()), (True, memory, run_dir.resolve())]
