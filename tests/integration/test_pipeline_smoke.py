"""`memup train` on the smoke preset: every file of the run dir, clean shutdown, resume."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from ray.rllib.core.rl_module import RLModule

from learner.metrics import read_metrics
from memup_module import load_memory

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"
RUN_FILES = ["config.yaml", "redis/password", "memup/checkpoints", "memup/memory.pt",
             "policy", "baseline_policy", "metrics.jsonl", "report.md", "memup_curves.png",
             "detector_uncertainty.png", "impala_return.png", "figures.json"]


def memup(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args, "--no-dashboard"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout: float = 600) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-4000:]
    return output


def assert_redis_stopped(run_dir: Path) -> None:
    """The run's Redis is gone: nothing listens on its port any more."""
    conf = (run_dir / "redis" / "redis.conf").read_text()
    port = int(next(line.split()[1] for line in conf.splitlines() if line.startswith("port ")))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_smoke_run_writes_every_file_of_the_run_dir(tmp_path):
    run_dir = tmp_path / "smoke"
    finish(memup("train", "--config", str(SMOKE), "--run-dir", str(run_dir)))
    for name in RUN_FILES:
        assert (run_dir / name).exists(), name
    assert (tmp_path / "latest").resolve() == run_dir.resolve()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["name"] == "smoke"
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["store/episodes"] >= 400
    assert 0.0 <= figures["impala/success_rate"] <= 1.0
    assert "impala/baseline_success_rate" in figures
    # Peak RSS of each process the run started, by role (Ray names workers after their actor).
    for role in ("driver", "redis", "raylet", "MemUPLearner", "total"):
        assert figures[f"memory/peak_rss_mb/{role}"] > 1, role
    keys = set().union(*read_metrics(run_dir / "metrics.jsonl"))
    assert {"memup/junction_accuracy", "impala/success_rate", "impala/baseline_success_rate",
            "store/episodes", "store/bytes", "collector/steps_per_s", "collector/node_ip"} <= keys
    memory = load_memory(run_dir / "memup" / "memory.pt")
    m, _ = memory(torch.zeros(1, 3, 6))
    assert m.shape == (1, 3, memory.hidden_size)
    policy = RLModule.from_checkpoint(run_dir / "policy")
    assert policy is not None
    assert "| `impala/success_rate` |" in (run_dir / "report.md").read_text()
    assert_redis_stopped(run_dir)


def long_pretraining(tmp_path: Path) -> Path:
    """The smoke preset with a MemUP phase long enough to be interrupted after a checkpoint."""
    preset = yaml.safe_load(SMOKE.read_text())
    preset["memup"].update(max_updates=3000, checkpoint_every=100, eval_every=100,
                           target_accuracy=1.0)
    preset["baseline"] = False
    config = tmp_path / "resume.yaml"
    config.write_text(yaml.safe_dump(preset))
    return config


def start_until_checkpoint(config: Path, run_dir: Path) -> subprocess.Popen:
    first = memup("train", "--config", str(config), "--run-dir", str(run_dir))
    deadline = time.monotonic() + 300
    while not list((run_dir / "memup" / "checkpoints").glob("ckpt-*.pt")):
        assert first.poll() is None and time.monotonic() < deadline, first.stdout.read()[-3000:]
        time.sleep(0.1)
    return first


def test_interrupted_run_resumes_from_its_checkpoint_and_finishes(tmp_path):
    config = long_pretraining(tmp_path)
    run_dir = tmp_path / "run"
    first = start_until_checkpoint(config, run_dir)
    first.send_signal(signal.SIGINT)  # Ctrl-C
    first.communicate(timeout=120)
    assert first.returncode != 0 or (run_dir / "report.md").exists()
    assert_redis_stopped(run_dir)

    refused = memup("train", "--config", str(config), "--run-dir", str(run_dir))
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2 and "--resume" in output

    finish(memup("train", "--config", str(config), "--run-dir", str(run_dir), "--resume"))
    for name in ("memup/memory.pt", "policy", "report.md"):
        assert (run_dir / name).exists(), name
    evals = [r["step"] for r in read_metrics(run_dir / "metrics.jsonl")
             if "memup/junction_accuracy" in r]
    assert evals == sorted(evals) and len(set(evals)) == len(evals)  # continued, not restarted


def test_a_run_killed_with_sigkill_leaves_no_redis_and_resumes_with_every_episode(tmp_path):
    config = long_pretraining(tmp_path)
    run_dir = tmp_path / "run"
    first = start_until_checkpoint(config, run_dir)
    redis_pid = int((run_dir / "redis" / "redis.pid").read_text())
    first.kill()  # kill -9: no handler, no finaliser runs in the run's process
    first.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{redis_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{redis_pid}").exists(), "the run's Redis outlived it"

    finish(memup("train", "--config", str(config), "--run-dir", str(run_dir), "--resume"))
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["store/episodes"] == 400  # what the killed run had collected, no more
    assert (run_dir / "policy").exists()


def test_policy_without_a_pretrained_memory_says_what_to_run(tmp_path):
    process = memup("policy", "--config", str(SMOKE), "--run-dir", str(tmp_path / "empty"))
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "no pretrained memory" in output and "memup pretrain" in output


def test_a_run_resumed_after_its_policy_phase_keeps_the_figures_of_the_finished_phases(tmp_path):
    preset = yaml.safe_load(SMOKE.read_text())
    preset["impala"]["max_env_steps"] = 40000  # a baseline long enough to interrupt
    config = tmp_path / "baseline.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / "run"
    first = memup("train", "--config", str(config), "--run-dir", str(run_dir))
    deadline = time.monotonic() + 600
    while not (run_dir / "policy" / "metadata.json").exists():
        assert first.poll() is None and time.monotonic() < deadline, first.stdout.read()[-3000:]
        time.sleep(0.1)
    first.terminate()  # during the baseline (SIGTERM reaches the run through its supervisor)
    first.communicate(timeout=120)
    assert not (run_dir / "baseline_policy" / "metadata.json").exists()

    finish(memup("train", "--config", str(config), "--run-dir", str(run_dir), "--resume"))
    figures = json.loads((run_dir / "figures.json").read_text())
    for key in ("memup/junction_accuracy", "memup/wall_s", "impala/success_rate",
                "impala/env_steps", "impala/baseline_success_rate"):
        assert key in figures, key
    assert "| `memup/junction_accuracy` |" in (run_dir / "report.md").read_text()
