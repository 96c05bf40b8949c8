"""Phase II figures: RLlib IMPALA with MemUPPolicyModule on the Noisy T-Maze.

- IMPALA env steps/s (sampling + learning) with the frozen pretrained memory, for 0, 1 and 2
  remote EnvRunners (the default is the fastest on this machine);
- env steps and wall-clock to >= 0.99 greedy success at L = 100 and L = 1000 with a memory
  pretrained by MemUP on that length (phase I, `MemUPTrainer`, timed separately);
- the IMPALA-LSTM baseline's greedy success after the same number of env steps (and, in the
  full run, after 10 times as many).

    python -m bench.impala [--quick] [--memory 1000=runs/x/memup/memory.pt ...]

`--quick` does L = 100 only. `--memory L=PATH` reuses a phase-I memory instead of pretraining.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import ray
import torch

from bench.common import write_result
from envs import EnvSpec, tmaze_spec
from learner.impala import ImpalaConfig, module_settings, train_policy
from learner.impala.algo_config import build_impala_config
from learner.memup import MemUPConfig, pretrain_memory
from learner.run_dir import RunDir

PRETRAIN_EPISODES = 2000
THROUGHPUT_ITERATIONS = 8


def pretrain(tmaze: EnvSpec, path: Path) -> dict:
    """Phase I on random-policy episodes until junction accuracy >= 0.99; exports `path`."""
    start = time.perf_counter()
    metrics = pretrain_memory(tmaze, MemUPConfig(), PRETRAIN_EPISODES, path)
    return {"junction_accuracy": metrics["memup/junction_accuracy"],
            "updates": int(metrics["memup/step"]),
            "wall_s": round(time.perf_counter() - start, 1)}


def throughput(tmaze: EnvSpec, impala: ImpalaConfig, memory: Path) -> dict:
    """Env steps/s of whole `algo.train()` iterations after two warm-up iterations."""
    torch.set_num_threads(impala.num_threads)  # as train_policy does (phase I sets its own)
    model_config = module_settings(impala, memory_path=memory, baseline=False)
    algo = build_impala_config(tmaze, impala, model_config).build_algo()
    try:
        for _ in range(2):
            steps = _sampled(algo.train())
        start = time.perf_counter()
        for _ in range(THROUGHPUT_ITERATIONS):
            result = algo.train()
        seconds = time.perf_counter() - start
        timers = result.get("timers", {})
        return {"env_steps_per_s": round((_sampled(result) - steps) / seconds),
                "sample_s_per_iteration": round(timers.get("sample", float("nan")), 3),
                "learn_s_per_iteration": round(timers.get("learner_update_timer", float("nan")), 3)}
    finally:
        algo.stop()


def _sampled(result: dict) -> int:
    return int(result.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0))


def to_target(length: int, impala: ImpalaConfig, memory: Path, out_dir: Path,
              baseline_factors: tuple[int, ...]) -> dict:
    """MemUP policy until >= target success, then the baseline with the same env steps (and
    with `factor` times as many, for each further factor)."""
    tmaze = tmaze_spec(length)
    policy = train_policy(tmaze, impala, memory_path=memory, policy_dir=RunDir(out_dir).policy,
                          progress=False)
    keep = ("success_rate", "mean_return", "env_steps", "wall_s", "eval_s", "iterations",
            "reached_target")
    figures = {"memup": {k: _round(policy[k]) for k in keep}}
    for factor in baseline_factors:
        budget = dataclasses.replace(impala, max_env_steps=factor * policy["env_steps"],
                                     eval_every_iterations=max(1, factor // 2))
        baseline = train_policy(tmaze, budget, memory_path=memory,
                                policy_dir=RunDir(out_dir).baseline_policy,
                                baseline=True, progress=False)
        name = "baseline_same_env_steps" if factor == 1 else f"baseline_{factor}x_env_steps"
        figures[name] = {k: _round(baseline[k]) for k in keep}
    return figures


def _round(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


def run(quick: bool = False, memories: dict[int, Path] | None = None) -> dict:
    lengths = (100,) if quick else (100, 1000)
    # Evaluate every iteration so "env steps to target" is exact; evaluation time is
    # reported apart (eval_s) and included in wall_s.
    impala = ImpalaConfig(eval_every_iterations=1, eval_sampled=False)
    memories = dict(memories or {})
    result: dict = {"impala_config": dataclasses.asdict(impala), "pretraining": {},
                    "throughput": {}, "to_target": {}}
    with tempfile.TemporaryDirectory() as scratch:
        ray.init(address="local", num_cpus=None, include_dashboard=False, log_to_driver=False)
        try:
            for length in lengths:
                if length in memories:
                    result["pretraining"][str(length)] = {"given": str(memories[length])}
                else:
                    memories[length] = Path(scratch) / f"memory-{length}.pt"
                    result["pretraining"][str(length)] = pretrain(
                        tmaze_spec(length), memories[length])
            longest = max(lengths)
            for runners in (0,) if quick else (0, 1, 2):
                setting = dataclasses.replace(impala, num_env_runners=runners)
                result["throughput"][f"L{longest}_env_runners_{runners}"] = throughput(
                    tmaze_spec(longest), setting, memories[longest])
            for length in lengths:
                result["to_target"][f"L{length}"] = to_target(
                    length, impala, memories[length], Path(scratch) / f"run-{length}",
                    baseline_factors=(1,) if quick else (1, 10))
        finally:
            ray.shutdown()
    return result


def _memory_arg(text: str) -> tuple[int, Path]:
    length, _, path = text.partition("=")
    return int(length), Path(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 100 only")
    parser.add_argument("--memory", type=_memory_arg, action="append", default=[],
                        metavar="L=PATH", help="reuse a phase-I memory.pt for corridor length L")
    args = parser.parse_args()
    figures = run(quick=args.quick, memories=dict(args.memory))
    print(write_result("impala", figures))
    print(figures)
