"""Cost of `memup evaluate` at long lengths: wall time of 64 held-out episodes at L = 10 000 and
100 000, per batched step, with 1 and 2 torch threads, and the extrapolation to L = 1 000 000
(issue #12's goal: 64 episodes of T-Maze-1 000 000 in at most 10 min on 2 cores).

The cost does not depend on the weights, so by default the policy is a freshly built
`MemUPPolicyModule` of the presets' size (LSTM-256 memory); `MEMUP_BENCH_RUN=runs/x` times a
trained run's saved policy instead. `MEMUP_BENCH_QUICK=1` runs short lengths only.
"""

from __future__ import annotations

import os

import torch
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import TMazeConfig
from learner.impala.env import make_tmaze_env
from learner.impala.policy_eval import held_out_seeds
from learner.impala.streaming_eval import stream_evaluate
from learner.run_dir import RunDir
from memup_module.rl_module import MemUPPolicyModule, load_policy, policy_model_config

from bench.common import write_result

EPISODES = 64
GOAL_LENGTH = 1_000_000
GOAL_WALL_S = 600.0


def policy() -> tuple[MemUPPolicyModule, str]:
    """The module to time and where it came from."""
    run = os.environ.get("MEMUP_BENCH_RUN")
    if run:
        return load_policy(RunDir(run).policy), "saved policy of a trained run"
    torch.manual_seed(0)
    env = make_tmaze_env(TMazeConfig(10).env_kwargs())
    spec = RLModuleSpec(module_class=MemUPPolicyModule, observation_space=env.observation_space,
                        action_space=env.action_space, model_config=policy_model_config())
    return spec.build(), "fresh MemUPPolicyModule, default sizes (LSTM-256 memory)"


def run(quick: bool = False) -> dict:
    module, source = policy()
    lengths = (1_000, 10_000) if quick else (10_000, 100_000)
    seeds = held_out_seeds(3_000_017, EPISODES)
    timings = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for length in lengths:
            result = stream_evaluate(module, TMazeConfig(length, length_jitter=10), seeds)
            step_us = result.seconds_per_step * 1e6
            timings.append({"threads": threads, "corridor_length": length,
                            "episodes": EPISODES, "wall_s": round(result.wall_s, 2),
                            "batched_steps": result.batched_steps,
                            "step_us": round(step_us, 1),
                            "env_steps_per_s": round(result.greedy.env_steps / result.wall_s)})
            print(timings[-1], flush=True)
    best_us = min(t["step_us"] for t in timings if t["corridor_length"] == lengths[-1])
    return {
        "policy": source,
        "memory_hidden_size": module.memory.hidden_size,
        "timings": timings,
        "extrapolated_wall_s_at_1000000": round(best_us * 1e-6 * (GOAL_LENGTH + 10), 1),
        "goal_wall_s_at_1000000": GOAL_WALL_S,
    }


if __name__ == "__main__":
    figures = run(quick=os.environ.get("MEMUP_BENCH_QUICK") == "1")
    print(figures)
    print("written to", write_result("length_eval", figures))
