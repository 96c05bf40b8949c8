"""Cost of `memup evaluate` at long lengths: wall time of 64 held-out episodes at L = 10 000 in
one process and at L = 100 000 split over one worker process per core
(`learner.impala.evaluation.workers`), per batched step, and the extrapolation to
L = 1 000 000 (issue #12's goal: 64 episodes of T-Maze-1 000 000 in at most 10 min on 2 cores).
`MEMUP_BENCH_FULL=1` also runs L = 1 000 000 itself (~10 min).

The cost does not depend on the weights, so by default the policy is a freshly built
`MemUPPolicyModule` of the presets' size (LSTM-256 memory); `MEMUP_BENCH_RUN=runs/x` times a
trained run's saved policy instead. `MEMUP_BENCH_QUICK=1` runs short lengths only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import tmaze_spec
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from learner.impala.evaluation.workers import evaluate_streamed, usable_cores
from learner.impala.evaluation.held_out import held_out_seeds
from learner.run_dir import RunDir
from memup_module.rl_module import MemUPPolicyModule, load_policy, policy_model_config

from bench.common import write_result

EPISODES = 64
GOAL_LENGTH = 1_000_000
GOAL_WALL_S = 600.0


def policy(scratch: Path) -> tuple[Path, str]:
    """The saved policy to time and where it came from."""
    run = os.environ.get("MEMUP_BENCH_RUN")
    if run:
        return RunDir(run).policy, "saved policy of a trained run"
    torch.manual_seed(0)
    env = make_agent_env(rllib_env_config(tmaze_spec(10)))
    spec = RLModuleSpec(module_class=MemUPPolicyModule, observation_space=env.observation_space,
                        action_space=env.action_space, model_config=policy_model_config())
    spec.build().save_to_path(scratch / "policy")
    return scratch / "policy", "fresh MemUPPolicyModule, default sizes (LSTM-256 memory)"


def _time(policy_dir: Path, module: MemUPPolicyModule, length: int, workers: int) -> dict:
    torch.set_num_threads(1)
    result = evaluate_streamed(policy_dir, tmaze_spec(length, length_jitter=10),
                               held_out_seeds(3_000_017, EPISODES), workers, module)
    timing = {"workers": workers, "corridor_length": length, "episodes": EPISODES,
              "wall_s": round(result.wall_s, 2), "batched_steps": result.batched_steps,
              "step_us": round(result.seconds_per_step * 1e6, 1),
              "env_steps_per_s": round(result.greedy.env_steps / result.wall_s)}
    print(timing, flush=True)
    return timing


def run(quick: bool = False, full: bool = False) -> dict:
    """L = 10 000 in one process (1 torch thread), the longer lengths over every core."""
    workers = usable_cores()
    with tempfile.TemporaryDirectory(prefix="memup-bench-") as scratch:
        policy_dir, source = policy(Path(scratch))
        module = load_policy(policy_dir)
        one = _time(policy_dir, module, 2_000 if quick else 10_000, 1)
        long = [100_000] if not quick else [40_000]
        if full and not quick:
            long.append(GOAL_LENGTH)
        split = [_time(policy_dir, module, length, workers) for length in long]
    return {
        "policy": source,
        "memory_hidden_size": module.memory.hidden_size,
        "one_process": one,
        "split": split,
        "extrapolated_wall_s_at_1000000": round(
            split[0]["step_us"] * 1e-6 * (GOAL_LENGTH + 10), 1),
        "goal_wall_s_at_1000000": GOAL_WALL_S,
    }


if __name__ == "__main__":
    figures = run(quick=os.environ.get("MEMUP_BENCH_QUICK") == "1",
                  full=os.environ.get("MEMUP_BENCH_FULL") == "1")
    print(figures)
    print("written to", write_result("length_eval", figures))
