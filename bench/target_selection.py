"""Does the detector earn its place? Phase I alone, per target selection, over several seeds.

One `make bench BENCH=popgym` row per (task, selection) is a single run, and on POPGym
RepeatFirst Medium the memory learns abruptly: its gain sits at zero for 2 000-3 000 updates,
then jumps to ~0.55 nats. Whether one selection gets there sooner than another is a question
of that update count over seeds, which this bench measures. For each selection and seed it
collects the preset's episodes and pretrains the memory with the preset's budget, and records
the memory gain at every evaluation and the first update at which it reached `threshold` nats.

    BENCH_TASK=popgym-repeat-first-medium BENCH_SEEDS=0,1,2 python -m bench.target_selection
    BENCH_TASK=tmaze-1000 BENCH_SEEDS=1,2 python -m bench.target_selection   # + junction accuracy

Results: bench/results/target_selection.json (rows accumulate per task, selection and seed).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.common import read_rows, write_result
from learner.metrics import read_metrics

ROOT = Path(__file__).resolve().parent.parent
SELECTIONS = ("detector", "uniform", "last")
THRESHOLD_NATS = 0.25
"""Half of what RepeatFirst's memory reaches once it has learned (0.53-0.56 nats)."""


def first_update_reaching(records: list[dict], threshold: float) -> int | None:
    """The first evaluated update whose memory gain reached `threshold` nats, None if none did."""
    for record in records:
        gain = record.get("memup/memory_gain_nll")
        if gain is not None and gain >= threshold:
            return int(record["step"])
    return None


def pretrain_one(task: str, selection: str, seed: int) -> dict:
    from app.collect import ensure_episodes
    from app.config import load_config, save_config
    from app.pipeline import pretrain
    from learner.run_dir import RunDir
    from app.services import redis_for_run

    config = load_config(ROOT / "configs" / f"{task}.yaml", overrides={
        "name": f"selection-{task}-{selection}-{seed}", "seed": seed,
        "memup": {"target_selection": selection}})
    run = RunDir.create(ROOT / "runs" / "bench-selection" /
                        f"{task}-{selection}-{seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    save_config(config, run.config)
    with redis_for_run(run.redis) as url:
        ensure_episodes(config, run, url)
        figures = pretrain(config, run, url)
    records = [r for r in read_metrics(run.metrics) if "memup/memory_gain_nll" in r]
    return {
        "task": task, "selection": selection, "seed": seed,
        "run_dir": str(run.root.relative_to(ROOT)),
        "updates": figures.get("memup/updates"),
        "final_memory_gain_nll": figures.get("memup/memory_gain_nll"),
        "updates_to_threshold": first_update_reaching(records, THRESHOLD_NATS),
        "memory_gain_by_update": {str(r["step"]): r["memup/memory_gain_nll"] for r in records},
        # The T-Maze's own measure (other envs have no junction).
        "final_junction_accuracy": figures.get("memup/junction_accuracy"),
        "memup_wall_s": figures.get("memup/wall_s"),
    }


def summary(rows: list[dict]) -> list[str]:
    """Per task and selection: how many seeds reached the threshold, and after how many updates."""
    lines = [f"| task | selection | seeds reaching {THRESHOLD_NATS} nats | updates to reach it "
             "(per seed) | final gain (per seed) |", "|---|---|---|---|---|"]
    keys = sorted({(r["task"], r["selection"]) for r in rows},
                  key=lambda k: (k[0], SELECTIONS.index(k[1])))
    for task, selection in keys:
        mine = sorted((r for r in rows if (r["task"], r["selection"]) == (task, selection)),
                      key=lambda r: r["seed"])
        reached = [r for r in mine if r["updates_to_threshold"] is not None]
        updates = ", ".join("–" if r["updates_to_threshold"] is None
                            else str(r["updates_to_threshold"]) for r in mine)
        gains = ", ".join(f"{r['final_memory_gain_nll']:.2f}" + (
            "" if r.get("final_junction_accuracy") is None
            else f" (junction {r['final_junction_accuracy']:.2f})") for r in mine)
        lines.append(f"| {task} | {selection} | {len(reached)}/{len(mine)} | {updates} | {gains} |")
    return lines


def main() -> int:
    from app.services import ray_for_run

    if "--table" in sys.argv:
        print("\n".join(summary(read_rows("target_selection"))))
        return 0
    task = os.environ.get("BENCH_TASK", "popgym-repeat-first-medium")
    seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "0,1,2").split(",")]
    selections = os.environ.get("BENCH_SELECTIONS", ",".join(SELECTIONS)).split(",")
    rows = read_rows("target_selection")
    with ray_for_run(dashboard=False):
        for seed in seeds:
            for selection in selections:
                print(f"== {task} / {selection} / seed {seed}", flush=True)
                row = pretrain_one(task, selection, seed)
                rows = [r for r in rows if (r["task"], r["selection"], r["seed"]) !=
                        (task, selection, seed)] + [row]
                write_result("target_selection", {"threshold_nats": THRESHOLD_NATS,
                                                  "rows": rows})
    print("\n".join(summary(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
