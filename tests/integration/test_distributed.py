"""The cluster paths on one machine: collectors spread over two Ray nodes, and the smoke preset
submitted as a Ray Job by `make train-distributed` to a head started with `ray start --head`
beside the store's Redis from `memup serve-redis` (tests/cluster does it over real hosts)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

from actors import CollectorConfig, collect_episodes
from envs import tmaze_spec
from trajectory_store import StoreConfig, StoreHandle

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def test_collectors_spread_over_both_nodes(redis_server, store_name):
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address)
    try:
        collect = CollectorConfig(num_collectors=2, num_envs=8, flush_episodes=4)
        store = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=100_000))
        summaries = collect_episodes(tmaze_spec(5, length_jitter=0), collect, store,
                                     num_episodes=40, timeout_s=120)
        nodes = {s["collector/node_id"] for s in summaries}
        assert len(summaries) == 2 and len(nodes) == 2
    finally:
        ray.shutdown()
        cluster.shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_train_distributed_runs_the_smoke_preset_as_a_ray_job(tmp_path):
    # Ray's token authentication on: the head, `ray job` and the job share ~/.ray/auth_token.
    env = {**os.environ, "HOME": str(tmp_path), "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
           "RAY_AUTH_MODE": "token"}
    dashboard_port = free_port()
    # Every port of its own, so processes of an earlier Ray still shutting down cannot clash.
    ports = [f"--port={free_port()}", f"--dashboard-port={dashboard_port}",
             f"--dashboard-agent-listen-port={free_port()}",
             f"--metrics-export-port={free_port()}", f"--ray-client-server-port={free_port()}",
             f"--runtime-env-agent-port={free_port()}"]
    subprocess.run([str(VENV_BIN / "ray"), "get-auth-token", "--generate"], env=env,
                   check=True, capture_output=True)
    # The store's Redis as `memup node start --head` runs it: URL in ~/memup-redis/url.
    store = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "app.cli", "serve-redis", "--data-dir",
         str(tmp_path / "memup-redis")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT)
    head_log = tmp_path / "head.log"
    head = subprocess.Popen(
        [str(VENV_BIN / "ray"), "start", "--head", "--block", "--num-cpus=2",
         "--dashboard-host=127.0.0.1", *ports],
        env=env, stdout=head_log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dashboard_port}"
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([str(VENV_BIN / "ray"), "job", "list", "--address", address],
                             env=env, capture_output=True).returncode != 0:
            assert head.poll() is None and time.monotonic() < deadline, head_log.read_text()[-3000:]
            time.sleep(2)
        while not (tmp_path / "memup-redis" / "url").exists():
            assert store.poll() is None and time.monotonic() < deadline, "serve-redis failed"
            time.sleep(0.5)
        # CLUSTER='': a head started by hand, no launcher yaml to check it through.
        job = subprocess.run(
            ["make", "train-distributed", "CONFIG=configs/smoke.yaml", f"RAY_ADDRESS={address}",
             "RUN_NAME=job-smoke", "ARGS=--no-dashboard", "CLUSTER=",
             f"CLUSTER_PYTHON={VENV_BIN / 'python'}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )
        assert job.returncode == 0, (job.stdout + job.stderr)[-4000:]
        assert "succeeded" in job.stdout.lower()
        run_dir = tmp_path / "memup-runs" / "job-smoke"
        for name in ("memup/memory.pt", "policy", "report.md", "metrics.jsonl"):
            assert (run_dir / name).exists(), name
    finally:
        store.terminate()
        store.wait(timeout=60)
        if head.poll() is None:
            os.killpg(head.pid, 15)
            head.wait(timeout=120)
