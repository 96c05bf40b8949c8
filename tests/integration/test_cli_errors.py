"""Every error a user can cause through `memup` ends as one line `memup: error: ...` (or
argparse's `memup <command>: error: ...`) that names the fix: exit status 2, no traceback,
never torch's advice to load with weights_only=False, and for what can be checked before Ray
starts, no sign of Ray in the output (the run dir is not even created)."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from app.config import load_config
from app.supervisor import CHILD_ENV
from memup_module import Memory, MemoryConfig, save_memory

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"
# What Ray writes once it starts or joins (ray.init, the raylet, token setup).
RAY_SIGNS = ("Started a local Ray instance", "Connecting to existing Ray cluster", "raylet",
             "authentication_token_setup", "ray.init")


def memup_fails(*args: str, env: dict[str, str] | None = None) -> str:
    """Runs `memup ARGS` (the real command, in a process of its own) and returns its single
    line of stderr, after checking that it is one clean line and exit status 2."""
    environ = {k: v for k, v in os.environ.items()
               if k not in ("MEMUP_REDIS_URL", "RAY_ADDRESS", CHILD_ENV)}
    result = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT,
                            env={**environ, **(env or {})}, capture_output=True, text=True,
                            timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output and "weights_only=False" not in output, output[-3000:]
    assert not any(sign in output for sign in RAY_SIGNS), output[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("memup"), lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smoke_memory(path: Path, **sizes: int) -> Path:
    config = load_config(SMOKE).memup.memory
    return save_memory(path, Memory(MemoryConfig(**{**dataclasses.asdict(config), **sizes})))


@pytest.mark.parametrize("content", ["random bytes", "pickled module", "another format"])
def test_a_file_that_is_not_a_memory_is_refused_before_ray(tmp_path, content):
    bad = tmp_path / "memory.pt"
    if content == "random bytes":
        bad.write_bytes(os.urandom(4096))
    elif content == "pickled module":
        torch.save(Memory(MemoryConfig(hidden_size=4)), bad)  # code on load: never loaded
    else:
        torch.save({"format": "rllib-module/1", "state_dict": {}}, bad)
    run_dir = tmp_path / "run"
    line = memup_fails("policy", "--config", str(SMOKE), "--run-dir", str(run_dir),
                       "--memory", str(bad), "--no-dashboard")
    assert line.startswith("memup: error: ") and str(bad) in line, line
    assert "is not a memup-memory/1 memory file" in line and "memup pretrain" in line, line
    assert not run_dir.exists()


def test_a_missing_memory_file_names_what_to_pass(tmp_path):
    line = memup_fails("policy", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                       "--memory", str(tmp_path / "nowhere.pt"))
    assert f"no memory file at {tmp_path / 'nowhere.pt'}" in line and "memup pretrain" in line


def test_a_memory_of_another_env_is_refused(tmp_path):
    memory = smoke_memory(tmp_path / "other.pt", obs_dim=9, num_actions=5)
    line = memup_fails("policy", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                       "--memory", str(memory))
    assert "9 values and 5 actions" in line and "memup pretrain --config" in line, line


def test_an_unreachable_store_url_names_host_and_port_not_the_password(tmp_path):
    port = free_port()
    line = memup_fails("collect", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                       env={"MEMUP_REDIS_URL": f"redis://:s3cret-pw@127.0.0.1:{port}/0"})
    assert f"cannot reach Redis at 127.0.0.1:{port}" in line, line
    assert "MEMUP_REDIS_URL" in line and "s3cret-pw" not in line
    assert not (tmp_path / "run").exists()


def test_a_store_url_that_is_no_url_says_how_to_write_it(tmp_path):
    line = memup_fails("train", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                       env={"MEMUP_REDIS_URL": "s3cret-pw@localhost"})
    assert "redis://:PASSWORD@HOST:PORT/0" in line and "s3cret-pw" not in line, line


def test_an_unreachable_ray_cluster_is_named_before_joining_it(tmp_path):
    memory = smoke_memory(tmp_path / "memory.pt")
    port = free_port()
    line = memup_fails("policy", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                       "--memory", str(memory), env={"RAY_ADDRESS": f"127.0.0.1:{port}"})
    assert f"RAY_ADDRESS=127.0.0.1:{port}" in line and "make cluster-up" in line, line


def test_resume_needs_the_run_dir_of_an_earlier_run(tmp_path):
    line = memup_fails("train", "--config", str(SMOKE), "--resume")
    assert "--resume" in line and "--run-dir" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    line = memup_fails("pretrain", "--config", str(SMOKE), "--run-dir", str(empty), "--resume")
    assert "no run to continue (no config.yaml)" in line and "drop --resume" in line, line


def test_a_run_dir_that_cannot_be_one(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    line = memup_fails("collect", "--config", str(SMOKE), "--run-dir", str(a_file))
    assert "is a file, not a directory" in line and "--run-dir" in line
    line = memup_fails("collect", "--config", str(SMOKE), "--run-dir", str(a_file / "run"))
    assert "cannot set up the run dir" in line and "pick another --run-dir" in line, line


def test_config_errors_are_one_line(tmp_path):
    line = memup_fails("collect", "--config", str(tmp_path / "nowhere.yaml"))
    assert "config file" in line and "does not exist" in line
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nenv: {corridor_length: 8\nseed: 1\n")
    line = memup_fails("train", "--config", str(broken), "--run-dir", str(tmp_path / "run"))
    assert "is not valid YAML" in line and "line 3, column 5" in line, line
    assert not (tmp_path / "run").exists()


def test_usage_errors_are_one_line_pointing_at_help():
    line = memup_fails("collect")
    assert line.startswith("memup collect: error: ") and "--config" in line
    assert "memup collect --help" in line
    line = memup_fails("serve-redis", "--data-dir", "/tmp/unused", "--port", "70000")
    assert "must be a port from 1 to 65535" in line


def test_serve_redis_on_a_port_in_use_names_the_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = memup_fails("serve-redis", "--data-dir", str(tmp_path / "redis"), "--port",
                           str(port))
    assert f"127.0.0.1:{port}" in line and "--port" in line, line
    assert not (tmp_path / "redis" / "redis.pid").exists()  # no redis-server was started


def test_node_start_needs_one_role_and_a_head_address():
    line = memup_fails("node", "start")
    assert "--head" in line and "--address" in line
    line = memup_fails("node", "start", "--address", "nohost")
    assert "is not HOST:PORT" in line


def test_evaluate_refuses_a_dir_that_holds_no_run(tmp_path):
    line = memup_fails("evaluate", "--run-dir", str(tmp_path))
    assert "is not a run dir (no config.yaml)" in line
    run = tmp_path / "gym"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"env": {"id": "CartPole-v1"}}))
    line = memup_fails("evaluate", "--run-dir", str(run))
    assert "Noisy T-Maze" in line and "CartPole-v1" in line, line
