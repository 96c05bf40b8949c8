"""Noisy T-Maze throughput with random actions on one core: vector env and single env."""

from __future__ import annotations

import os

import numpy as np

from envs import NoisyTMaze, NoisyTMazeVectorEnv

from bench.common import best_rate, write_result

CORRIDOR_LENGTH = 1000


def vector_steps_per_second(num_envs: int, steps: int, repeats: int) -> float:
    env = NoisyTMazeVectorEnv(num_envs, corridor_length=CORRIDOR_LENGTH)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def work() -> int:
        for _ in range(steps):
            env.step(rng.integers(0, 2, num_envs))
        return steps * num_envs

    return best_rate(work, repeats)


def single_steps_per_second(steps: int, repeats: int) -> float:
    env = NoisyTMaze(corridor_length=CORRIDOR_LENGTH)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def work() -> int:
        for action in rng.integers(0, 2, steps):
            _, _, terminated, _, _ = env.step(int(action))
            if terminated:
                env.reset()
        return steps

    return best_rate(work, repeats)


def run(quick: bool = False) -> dict:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as specified
    steps = 200 if quick else 2000
    result = {
        "corridor_length": CORRIDOR_LENGTH,
        "vector_env_steps_per_s": {
            str(n): round(vector_steps_per_second(n, steps, repeats=3)) for n in (1024, 4096)
        },
        "single_env_steps_per_s": round(single_steps_per_second(20 * steps, repeats=3)),
        "target_vector_env_steps_per_s": 10_000_000,
    }
    return result


if __name__ == "__main__":
    figures = run()
    print(figures)
    print("written to", write_result("env_throughput", figures))
