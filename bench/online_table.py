"""`make bench BENCH=online_table`: the online loop beside two-phase MemUP, online with a
fine-tuned memory and the IMPALA-LSTM baseline, task by task (docs/results.md §7).

Each (task preset, mode, seed) is one whole run at the preset's env-step budget
(`BENCH_MAX_ENV_STEPS` sets one for all), in its own run dir under runs/bench-online/; the
two-phase run also trains the baseline on the same budget. Rows accumulate in
`bench/results/online_table.json`, so the table fills over several sittings:

    BENCH_TASKS=popgym-repeat-first-medium BENCH_MODES=two-phase,online BENCH_SEEDS=0,1 \\
        python -m bench.online_table
    python -m bench.online_table --table     # the table so far, as Markdown

A cell is MMER (POPGym's measure) / held-out greedy return, averaged over the seeds run, and
the mean wall time of one run; T-Maze rows add the greedy success rate.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.common import fmt_count, fmt_value, read_rows, run_preset
from bench.popgym import REFERENCE, print_table, record_row, reference_cell, steps_to_best
from learner.metrics import read_metrics

ROOT = Path(__file__).resolve().parent.parent
NAME = "online_table"
TASKS = ("minigrid-memory-s13", "popgym-count-recall-easy", "popgym-autoencode-easy",
         "popgym-repeat-first-medium", "tmaze-1000")
MODES = {
    "two-phase": {"mode": "two-phase", "baseline": True},
    "online": {"mode": "online", "baseline": False},
    "online-ft": {"mode": "online", "baseline": False, "impala": {"freeze_memory": False}},
}
_ROW_KEYS = {
    "success_rate": "impala/success_rate",
    "greedy_return": "impala/mean_return",
    "mmer": "impala/mmer",
    "env_steps": "impala/env_steps",
    "memory_versions": "online/memory_versions",
    "baseline_success_rate": "impala/baseline_success_rate",
    "baseline_greedy_return": "impala/baseline_mean_return",
    "baseline_mmer": "impala/baseline_mmer",
    "baseline_env_steps": "impala/baseline_env_steps",
    "run_wall_s": "run/wall_s",
}


def run_one(task: str, mode: str, seed: int, max_env_steps: int | None) -> dict:
    overrides: dict = {"name": f"bench-{task}-{mode}-s{seed}", "seed": seed, **MODES[mode]}
    if max_env_steps is not None:
        overrides["impala"] = {**overrides.get("impala", {}), "max_env_steps": max_env_steps}
    config, run, figures = run_preset(task, overrides, "bench-online", f"{task}-{mode}-s{seed}")
    row = {"task": task, "env_id": config.env.config.id, "mode": mode, "seed": seed,
           "run_dir": str(run.root.relative_to(ROOT))}
    row.update({name: figures.get(key) for name, key in _ROW_KEYS.items()})
    row["steps_to_best"] = steps_to_best(read_metrics(run.metrics), "impala/")
    return row


def _mean(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def _cell(rows: list[dict], prefix: str = "") -> str:
    """MMER / greedy return [, success], seeds, wall of the rows' runs (mean over seeds)."""
    if not rows:
        return "–"
    mmer, greedy = _mean(rows, f"{prefix}mmer"), _mean(rows, f"{prefix}greedy_return")
    if mmer is None and greedy is None:
        return "–"
    text = f"{fmt_value(mmer)} / {fmt_value(greedy)}"
    success = _mean(rows, f"{prefix}success_rate")
    if success is not None:
        text += f", success {success:.2f}"
    steps = _mean(rows, f"{prefix}env_steps")
    text += f" ({len(rows)} seed{'s' if len(rows) > 1 else ''}, {fmt_count(steps)} steps"
    return text + ("" if prefix else f", {fmt_count(_mean(rows, 'run_wall_s'))} s") + ")"


def markdown_table(rows: list[dict], reference: dict) -> list[str]:
    """One line per task: each mode's cell, the baseline (from the two-phase runs), POPGym's."""
    lines = ["| task | two-phase | online | online + fine-tuned memory | IMPALA-LSTM baseline | "
             "POPGym GRU / LSTM / best |", "|---|---|---|---|---|---|"]
    for task in sorted({r["task"] for r in rows}, key=_task_order):
        mine = [r for r in rows if r["task"] == task]
        by_mode = {mode: [r for r in mine if r["mode"] == mode] for mode in MODES}
        ref = reference.get("tasks", {}).get(mine[0]["env_id"])
        lines.append(f"| {task} | {_cell(by_mode['two-phase'])} | {_cell(by_mode['online'])} | "
                     f"{_cell(by_mode['online-ft'])} | "
                     f"{_cell(by_mode['two-phase'], 'baseline_')} | "
                     f"{reference_cell(ref) if ref else 'n/a'} |")
    return lines


def _task_order(task: str) -> tuple[int, str]:
    return (TASKS.index(task) if task in TASKS else len(TASKS), task)


def main() -> int:
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}
    rows = read_rows(NAME)
    if "--table" not in sys.argv:
        tasks = os.environ.get("BENCH_TASKS", ",".join(TASKS)).split(",")
        modes = os.environ.get("BENCH_MODES", ",".join(MODES)).split(",")
        seeds = [int(s) for s in os.environ.get("BENCH_SEEDS", "0").split(",")]
        budget = os.environ.get("BENCH_MAX_ENV_STEPS")
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            print(f"unknown BENCH_MODES {unknown}; choose from {list(MODES)}", file=sys.stderr)
            return 2
        for task in tasks:
            if not (ROOT / "configs" / f"{task}.yaml").is_file():
                print(f"== {task}: no preset configs/{task}.yaml, skipped", flush=True)
                continue
            for mode in modes:
                for seed in seeds:
                    print(f"== {task} / {mode} / seed {seed}", flush=True)
                    row = run_one(task, mode, seed, int(budget) if budget else None)
                    rows = record_row(NAME, rows, row, ("task", "mode", "seed"))
    print_table(markdown_table(rows, reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
