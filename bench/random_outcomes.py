"""What the uniform random behaviour policy sees of each task's reward.

Phase I learns only from the collectors' episodes, and the collectors act uniformly at random:
a task whose reward the random policy never reaches cannot teach the memory anything. This
generates `BENCH_EPISODES` held-out-style episodes per preset (`generate_episodes`, the same
random policy and env set-up as the collectors) and records how often they end before the
time limit, how often a step pays a positive reward, and the return:

    python -m bench.random_outcomes                          # every POPGym / MiniGrid preset
    BENCH_TASKS=minigrid-memory-s13 BENCH_EPISODES=200 python -m bench.random_outcomes

Results: bench/results/random_outcomes.json (one row per preset, replaced when re-run).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from bench.common import read_rows, write_result
from bench.popgym import ROOT, TASKS


def task_outcomes(task: str, episodes: int, seed: int) -> dict:
    """Figures of `episodes` random-policy episodes of preset `task`."""
    from app.config import load_config
    from learner.memup.inputs.episodes import generate_episodes

    env = load_config(ROOT / "configs" / f"{task}.yaml").env
    start = time.perf_counter()
    generated = generate_episodes(env, episodes, seed)
    returns = np.array([float(e.reward.sum()) for e in generated])
    lengths = np.array([len(e.reward) for e in generated])
    truncated = np.array([bool(e.meta.get("truncated", False)) for e in generated])
    positive = np.array([int(np.sum(e.reward > 0)) for e in generated])  # steps per episode
    distinct = np.unique(np.concatenate([e.reward for e in generated]))
    return {
        "task": task, "env_id": env.config.id, "episodes": episodes, "seed": seed,
        "mean_length": float(lengths.mean()),
        "terminated_fraction": float(1.0 - truncated.mean()),
        "positive_reward_episode_fraction": float((positive > 0).mean()),
        "positive_reward_step_fraction": int(positive.sum()) / int(lengths.sum()),
        "mean_return": float(returns.mean()),
        "distinct_rewards": int(len(distinct)),
        "wall_s": time.perf_counter() - start,
    }


def markdown_table(rows: list[dict]) -> list[str]:
    lines = ["| task | episodes | mean length | ended before the limit | episodes with a "
             "reward > 0 | steps with a reward > 0 | mean return | distinct rewards |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["task"]):
        lines.append(f"| {r['task']} | {r['episodes']} | {r['mean_length']:.0f} | "
                     f"{r['terminated_fraction']:.1%} | "
                     f"{r['positive_reward_episode_fraction']:.1%} | "
                     f"{r['positive_reward_step_fraction']:.2%} | {r['mean_return']:.3f} | "
                     f"{r['distinct_rewards']} |")
    return lines


def main() -> int:
    chosen = os.environ.get("BENCH_TASKS")
    tasks = chosen.split(",") if chosen else list(TASKS)
    unknown = [t for t in tasks if not (ROOT / "configs" / f"{t}.yaml").is_file()]
    if unknown:
        print(f"no preset configs/<task>.yaml for {unknown}: choose from {list(TASKS)}")
        return 2
    episodes = int(os.environ.get("BENCH_EPISODES", "500"))
    seed = int(os.environ.get("BENCH_SEED", "12345"))
    rows = read_rows("random_outcomes")
    for task in tasks:
        row = task_outcomes(task, episodes, seed)
        print(json.dumps(row), flush=True)
        rows = [r for r in rows if r["task"] != task] + [row]
        write_result("random_outcomes", {"rows": rows})
    print("\n".join(markdown_table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
