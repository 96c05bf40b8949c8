"""Cost of `memup evaluate` at long lengths: wall time of 64 held-out episodes at L = 10 000 and
100 000, per batched step, with the faster of 1 and 2 torch threads, and the extrapolation to L = 1 000 000
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
from learner.impala.env import make_agent_env
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
    env = make_agent_env(TMazeConfig(10).env_kwargs())
    spec = RLModuleSpec(module_class=MemUPPolicyModule, observation_space=env.observation_space,
                        action_space=env.action_space, model_config=policy_model_config())
    return spec.build(), "fresh MemUPPolicyModule, default sizes (LSTM-256 memory)"


def _time(module: MemUPPolicyModule, length: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    result = stream_evaluate(module, TMazeConfig(length, length_jitter=10),
                             held_out_seeds(3_000_017, EPISODES))
    timing = {"threads": threads, "corridor_length": length, "episodes": EPISODES,
              "wall_s": round(result.wall_s, 2), "batched_steps": result.batched_steps,
              "step_us": round(result.seconds_per_step * 1e6, 1),
              "env_steps_per_s": round(result.greedy.env_steps / result.wall_s)}
    print(timing, flush=True)
    return timing


def run(quick: bool = False) -> dict:
    """Screens 1 and 2 threads at L = 1 000 (on a shared machine 2 threads can be far slower),
    then times the long lengths with the faster setting."""
    module, source = policy()
    screens = [_time(module, 1_000, threads) for threads in (1, 2)]
    threads = min(screens, key=lambda t: t["step_us"])["threads"]
    lengths = (2_000, 10_000) if quick else (10_000, 100_000)
    timings = [_time(module, length, threads) for length in lengths]
    return {
        "policy": source,
        "memory_hidden_size": module.memory.hidden_size,
        "thread_screens": screens,
        "timings": timings,
        "extrapolated_wall_s_at_1000000": round(
            timings[-1]["step_us"] * 1e-6 * (GOAL_LENGTH + 10), 1),
        "goal_wall_s_at_1000000": GOAL_WALL_S,
    }


if __name__ == "__main__":
    figures = run(quick=os.environ.get("MEMUP_BENCH_QUICK") == "1")
    print(figures)
    print("written to", write_result("length_eval", figures))
