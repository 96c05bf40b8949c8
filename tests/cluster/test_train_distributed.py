"""`make train-distributed` on three emulated hosts brought up by the real `ray up`: the job
succeeds (two-phase and online), every actor runs where placement puts it, the run dir is whole on the head, the store's
password shows in no log, a worker host killed mid-job costs no acknowledged episode, and the
dashboard's Actors page, seen in a browser, lists the run's actors while it runs."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, Cluster, unique_name
from dashboard_page import actor_rows_on_page, missing_browser

ACTORS_BY_NODE = """
import json, ray
from ray.util.state import list_actors, list_nodes
ray.init(address="auto", logging_level="ERROR")
ips = {n.node_id: n.node_ip for n in list_nodes(detail=True)}
print(json.dumps([[a.class_name, a.name, a.state, ips.get(a.node_id)]
                  for a in list_actors(limit=10000, detail=True)]))
"""

STORE_STATS = """
import dataclasses, json, pathlib
from trajectory_store import TrajectoryStore
url = (pathlib.Path.home() / "memup-redis" / "url").read_text().strip()
store = TrajectoryStore.connect(url, "{name}")
print(json.dumps(dataclasses.asdict(store.stats())))
"""


POLICY_EPISODES = """
import json, pathlib
from trajectory_store import TrajectoryStore
url = (pathlib.Path.home() / "memup-redis" / "url").read_text().strip()
store = TrajectoryStore.connect(url, "{name}")
print(json.dumps(sorted({{e.meta["collector_id"] for e in store.iterate()
                          if e.meta["policy_id"] == "impala"}})))
"""


def actors(cluster: Cluster) -> list[list]:
    return json.loads(cluster.head_python(ACTORS_BY_NODE).strip().splitlines()[-1])


def running_on(cluster: Cluster, host: str, title: bytes) -> bool:
    """Whether an actor method runs on `host`: Ray titles the process `ray::Class.method`."""
    for pid in cluster.hosts.pids(host):
        try:
            if title in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


def run_files(cluster: Cluster, name: str) -> Path:
    return cluster.hosts["head"].home / "memup-runs" / name


def logs_of(cluster: Cluster) -> list[Path]:
    found = []
    for host in cluster.hosts.hosts.values():
        found += [p for p in host.ray_dir.rglob("*") if p.is_file()]
        found += list((host.home / ".memup" / "node").glob("*.log"))
    return found


def test_smoke_job_runs_across_hosts_with_placement_by_resources(cluster: Cluster):
    name = unique_name("smoke")
    job = cluster.make("train-distributed", "CONFIG=configs/smoke.yaml", f"RUN_NAME={name}",
                       "ARGS=--no-dashboard")
    output = job.stdout + job.stderr
    assert job.returncode == 0, output[-5000:]
    assert "succeeded" in job.stdout.lower()

    run = run_files(cluster, name)
    for part in ("config.yaml", "memup/memory.pt", "policy", "baseline_policy", "metrics.jsonl",
                 "figures.json", "report.md"):
        assert (run / part).exists(), part
    figures = json.loads((run / "figures.json").read_text())
    assert figures["store/episodes"] >= 400

    head = cluster.hosts["head"].ip
    workers = {cluster.hosts[n].ip for n in ("worker1", "worker2")}
    placed = actors(cluster)
    collectors = [a for a in placed if (a[1] or "").startswith("collector-")]
    runners = [a for a in placed if a[0] == "BatchedEnvRunner"]
    learners = [a for a in placed if a[1] == "memup-learner"]
    assert collectors and {a[3] for a in collectors} <= workers, placed
    assert len({a[3] for a in collectors}) == 2, collectors  # spread over both workers
    assert runners and {a[3] for a in runners} <= workers, placed
    assert learners and {a[3] for a in learners} == {head}, placed

    # The store's password is in its 0600 file on the head and nowhere else.
    password = (cluster.hosts["head"].home / "memup-redis" / "password").read_text().strip()
    assert password not in output
    for path in [*logs_of(cluster), *run.rglob("*.jsonl"), run / "config.yaml", run / "report.md"]:
        assert password.encode() not in path.read_bytes(), path


def test_online_job_puts_the_learner_on_the_head_and_the_env_runners_on_the_workers(
        cluster: Cluster):
    name = unique_name("online")
    job = cluster.make("train-distributed", "CONFIG=configs/smoke-online.yaml",
                       f"RUN_NAME={name}", "ARGS=--no-dashboard")
    assert job.returncode == 0, (job.stdout + job.stderr)[-5000:]
    figures = json.loads((run_files(cluster, name) / "figures.json").read_text())
    assert figures["online/memory_versions"] >= 1
    head = cluster.hosts["head"].ip
    workers = {cluster.hosts[n].ip for n in ("worker1", "worker2")}
    placed = actors(cluster)
    runners = [a for a in placed if a[0] == "BatchedEnvRunner"]
    learners = [a for a in placed if a[1] == "memup-learner"]
    assert runners and {a[3] for a in runners} <= workers, placed
    assert learners and {a[3] for a in learners} == {head}, placed
    # The remote EnvRunners on the workers wrote the policy's episodes into the head's store.
    writers = json.loads(
        cluster.head_python(POLICY_EPISODES.format(name=name)).strip().splitlines()[-1])
    assert writers and all(w.startswith("env-runner-") and w != "env-runner-0" for w in writers)


def test_missing_store_fails_before_submitting_with_the_fix(cluster: Cluster):
    url = cluster.hosts["head"].home / "memup-redis" / "url"
    saved = url.read_text()
    url.unlink()
    try:
        job = cluster.make("train-distributed", "CONFIG=configs/smoke.yaml",
                           f"RUN_NAME={unique_name('nostore')}", timeout=300)
    finally:
        url.write_text(saved)
    assert job.returncode != 0
    assert "no store URL" in job.stderr and "--restart-only" in job.stderr
    assert "Job submission" not in job.stdout  # nothing was submitted


def test_worker_host_killed_mid_job_loses_no_acknowledged_episode(cluster: Cluster):
    name = unique_name("kill")
    job = subprocess.Popen(
        ["make", "train-distributed", "CONFIG=configs/cluster-smoke.yaml", f"RUN_NAME={name}",
         "ARGS=--no-dashboard", f"CLUSTER={cluster.yaml_path}", f"RAY_ADDRESS={cluster.address}"],
        cwd=ROOT, env=cluster.env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        # Ray titles an actor's process by the method it runs: kill the host mid-collection.
        deadline = time.monotonic() + 300
        while not running_on(cluster, "worker1", b"EpisodeCollector.run"):
            assert job.poll() is None and time.monotonic() < deadline, "no collector on worker1"
            time.sleep(0.05)
        cluster.hosts.kill("worker1")
        output, _ = job.communicate(timeout=1200)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, output[-5000:]
    stats = json.loads(cluster.head_python(STORE_STATS.format(name=name)).strip().splitlines()[-1])
    assert stats["evicted"] == 0 and stats["episodes"] == stats["inserted"] >= 10_000, stats
    assert (run_files(cluster, name) / "policy").exists()


@pytest.mark.skipif(bool(missing_browser()), reason=f"dashboard page: {missing_browser()}")
def test_dashboard_actors_page_lists_the_runs_actors_during_a_run(cluster: Cluster, tmp_path):
    job = subprocess.Popen(
        ["make", "train-distributed", "CONFIG=configs/smoke.yaml",
         f"RUN_NAME={unique_name('page')}", "ARGS=--no-dashboard",
         f"CLUSTER={cluster.yaml_path}", f"RAY_ADDRESS={cluster.address}"],
        cwd=ROOT, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not running_on(cluster, "head", b"MemUPLearner."):
            assert job.poll() is None and time.monotonic() < deadline, "no MemUP learner"
            time.sleep(0.05)
        token = (Path(cluster.env["HOME"]) / ".ray" / "auth_token").read_text().strip()
        rows = actor_rows_on_page(cluster.address, token, tmp_path, tmp_path / "actors.png")
        running = job.poll() is None
        output, _ = job.communicate(timeout=900)
    finally:
        if job.poll() is None:
            job.kill()
    # This run is the newest job on the page (Ray's job ids are little-endian counters).
    this_job = max({job_id for _, job_id, _ in rows},
                   key=lambda job_id: int.from_bytes(bytes.fromhex(job_id), "little"))
    names = {name for name, job_id, _ in rows if job_id == this_job}
    assert {"collector-0", "collector-1", "memup-learner"} <= names, rows
    assert running, "the page was read after the run had ended"
    assert job.returncode == 0, output[-3000:]
