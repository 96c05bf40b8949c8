"""Phase II on the presets of other envs with the batched EnvRunner and with RLlib's (issue #25:
"no slower on the POPGym and MiniGrid presets").

Each preset's IMPALA settings with a random memory of the preset's size (speed does not need a
trained one), `impala.max_env_steps` set, one evaluation at the end; the two runners alternate
(batched, RLlib's, batched, RLlib's, ...) in one Ray session, so drift on the machine touches
both alike. Reports the wall-clock of `train_policy` (Ray's start excluded, the algorithm's
set-up included), the part of it spent training (`train_s`: neither set-up nor evaluation)
and the MMER.

    python -m bench.env_runner_presets [--presets configs/popgym-repeat-first-medium.yaml ...]
                                       [--env-steps 200000 100000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import ray
import torch

from app.config import load_config
from bench.common import write_result
from learner.impala.training import train_policy
from memup_module import Memory, save_memory

PRESETS = ["configs/popgym-repeat-first-medium.yaml", "configs/minigrid-memory-s13.yaml"]
ENV_STEPS = [200_000, 100_000]


def phase_two(preset: str, env_steps: int, batched: bool) -> dict:
    config = load_config(preset, {"impala": {"max_env_steps": env_steps,
                                             "batched_env_runner": batched,
                                             "eval_every_iterations": 1_000_000}})
    with tempfile.TemporaryDirectory() as scratch:
        torch.manual_seed(0)
        memory = save_memory(Path(scratch) / "memory.pt", Memory(config.memup.memory))
        start = time.perf_counter()
        result = train_policy(config.env, config.impala, memory_path=memory,
                              policy_dir=Path(scratch) / "policy", progress=False)
        wall = time.perf_counter() - start
    return {"preset": preset, "env_runner": "batched" if batched else "rllib",
            "wall_s": round(wall, 1), "setup_s": round(result["setup_s"], 1),
            "eval_s": round(result["eval_s"], 1),
            "train_s": round(result["wall_s"] - result["eval_s"], 1),
            "env_steps": result.get("env_steps"), "mmer": result.get("mmer")}


def run(presets: list[str], env_steps: list[int], repeats: int) -> dict:
    if len(env_steps) != len(presets):
        raise ValueError(f"--env-steps needs one budget per preset ({len(presets)}), "
                         f"got {len(env_steps)}")
    rows = []
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    try:
        for preset, steps in zip(presets, env_steps):
            for _ in range(repeats):
                for batched in (True, False):
                    rows.append(phase_two(preset, steps, batched))
                    print(rows[-1], flush=True)
    finally:
        ray.shutdown()
    return {"goal": "the batched EnvRunner no slower than RLlib's on each preset", "rows": rows}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=PRESETS)
    parser.add_argument("--env-steps", type=int, nargs="+", default=ENV_STEPS)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(write_result("env_runner_presets", run(args.presets, args.env_steps, args.repeats)))
