"""`stream_evaluate` on every core: the episodes split across worker processes.

    result = evaluate_streamed(run.policy, spec.at_length(1_000_000), seeds, workers=2)

One process steps its episodes in lockstep with one torch thread, so a second core only helps
as a second process with its own share of the episodes (two intra-op threads on matmuls this
small wait on each other more than they gain). Each worker is `python -m` this module: it loads
the saved policy itself, and its figures come back as an `.npz` read with `allow_pickle=False`,
so nothing crossing the process boundary is unpickled. Starting a worker costs seconds (torch
and RLlib imports), so runs smaller than `MIN_PARALLEL_ENV_STEPS` stay in the caller's process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from envs import EnvSpec
from learner.impala.evaluation.held_out import GreedyResult
from learner.impala.evaluation.streaming import StreamResult, stream_evaluate
from memup_module.rl_module import MemUPPolicyModule, load_policy

MIN_PARALLEL_ENV_STEPS = 2_000_000
"""Below this many env steps (e.g. 64 episodes of T-Maze-30 000) one process is faster."""


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def evaluate_streamed(policy_dir: Path, env: EnvSpec, episode_seeds: np.ndarray,
                      workers: int = 1, module: MemUPPolicyModule | None = None
                      ) -> StreamResult:
    """`stream_evaluate` of the policy saved in `policy_dir`, split over up to `workers`
    processes when the run is large enough to pay for their start; `module` (that policy,
    already loaded) saves loading it again for an in-process run."""
    expected_steps = len(episode_seeds) * env.max_episode_steps
    workers = min(workers, len(episode_seeds))
    if workers <= 1 or expected_steps < MIN_PARALLEL_ENV_STEPS:
        return stream_evaluate(module or load_policy(policy_dir), env, episode_seeds)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="memup-eval-") as scratch:
        shares = np.array_split(np.asarray(episode_seeds, np.uint64), workers)
        parts = _run_workers(policy_dir, env, shares, Path(scratch))
    return merge_parts(parts, time.perf_counter() - start)


def _run_workers(policy_dir: Path, env_spec: EnvSpec, shares: list[np.ndarray],
                 scratch: Path) -> list[dict[str, np.ndarray]]:
    processes = [start_worker(policy_dir, env_spec, seeds, scratch / f"share-{index}")
                 for index, seeds in enumerate(shares)]
    try:
        return [finish_worker(process, scratch / f"share-{index}")
                for index, process in enumerate(processes)]
    finally:
        for process in processes:  # an interrupt in the caller stops its workers too
            if process.poll() is None:
                process.kill()


def start_worker(policy_dir: Path, env_spec: EnvSpec, seeds: np.ndarray,
                 files: Path) -> subprocess.Popen:
    """A worker process that evaluates the policy in `policy_dir` on `seeds`; its seeds and
    result live under the prefix `files` (`finish_worker` reads the result)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    np.save(f"{files}-seeds.npy", np.asarray(seeds, np.uint64))
    command = [sys.executable, "-m", __name__, "--policy", str(policy_dir),
               "--env", json.dumps(env_spec.to_plain()),
               "--seeds", f"{files}-seeds.npy", "--out", f"{files}-result.npz"]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def finish_worker(process: subprocess.Popen, files: Path) -> dict[str, np.ndarray]:
    """Waits for a `start_worker` process; its figures (read without unpickling anything)."""
    error = process.communicate()[1]
    if process.returncode != 0:
        raise RuntimeError(f"an evaluation worker failed (exit {process.returncode}):\n"
                           f"{error.strip()[-2000:]}")
    with np.load(f"{files}-result.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def merge_parts(parts: list[dict[str, np.ndarray]], wall_s: float) -> StreamResult:
    episodes = np.array([int(p["episodes"]) for p in parts])
    weights = episodes / episodes.sum()
    greedy = GreedyResult(
        float(sum(w * float(p["success_rate"]) for w, p in zip(weights, parts))),
        float(sum(w * float(p["mean_return"]) for w, p in zip(weights, parts))),
        int(episodes.sum()), int(sum(int(p["env_steps"]) for p in parts)))
    return StreamResult(greedy, np.concatenate([p["junction_memory"] for p in parts]),
                        np.concatenate([p["cue_sides"] for p in parts]),
                        max(int(p["batched_steps"]) for p in parts), wall_s)


def _worker(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(description="one share of `evaluate_streamed`")
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--env", type=json.loads, required=True, help="an env: section")
    parser.add_argument("--seeds", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(arguments)
    torch.set_num_threads(1)
    seeds = np.load(args.seeds, allow_pickle=False)
    result = stream_evaluate(load_policy(args.policy), EnvSpec.from_plain(args.env), seeds)
    greedy = result.greedy
    np.savez(args.out, success_rate=greedy.success_rate, mean_return=greedy.mean_return,
             episodes=greedy.episodes, env_steps=greedy.env_steps,
             junction_memory=result.junction_memory, cue_sides=result.cue_sides,
             batched_steps=result.batched_steps)


if __name__ == "__main__":
    _worker(sys.argv[1:])
