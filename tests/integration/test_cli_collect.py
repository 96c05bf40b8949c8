"""`memup collect` fills a run's embedded store, saves the resolved config and is idempotent."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from trajectory_store import TrajectoryStore, start_embedded_redis

ROOT = Path(__file__).resolve().parents[2]


def memup(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_collect_fills_the_run_store_and_a_second_call_adds_nothing(tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump({
        "name": "tiny", "env": {"corridor_length": 8, "length_jitter": 1},
        "store": {"capacity_steps": 100000},
        "collect": {"num_collectors": 2, "num_envs": 8, "num_episodes": 60,
                    "flush_episodes": 5, "num_cpus_per_collector": 0.5},
    }))
    run_dir = tmp_path / "run"
    first = memup("collect", "--config", str(preset), "--run-dir", str(run_dir), "--no-dashboard")
    assert first.returncode == 0, first.stderr[-3000:]
    stats = json.loads(first.stdout[first.stdout.index("{"):])
    assert stats["store/episodes"] >= 60
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["env"]["corridor_length"] == 8
    assert (run_dir / "redis" / "password").stat().st_mode & 0o077 == 0

    again = memup("collect", "--config", str(preset), "--run-dir", str(run_dir), "--no-dashboard")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout[again.stdout.index("{"):])["store/inserted"] == stats["store/inserted"]

    server = start_embedded_redis(run_dir / "redis")  # the data outlives the run's server
    try:
        store = TrajectoryStore.from_config(server.url, run_dir.name, None)
        assert store.stats().episodes == stats["store/episodes"]
        store.close()
    finally:
        server.stop()


def test_bad_config_fails_before_any_work_naming_the_key(tmp_path):
    preset = tmp_path / "bad.yaml"
    preset.write_text(yaml.safe_dump({"env": {"corridor_length": 8}, "collect": {"num_env": 4}}))
    result = memup("collect", "--config", str(preset), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "collect.num_env: unknown key" in result.stderr
    assert not (tmp_path / "run").exists()
