"""`make bench BENCH=popgym`: MemUP + IMPALA on third-party memory tasks, held against POPGym's
published table (bench/reference/popgym.json), with the target-selection switch.

For each task preset and each target selection (detector, uniform, last) it runs the whole
pipeline (collect → MemUP → IMPALA) in its own run dir; the detector's run also trains the
IMPALA-LSTM baseline on the same budget. Every row holds phase I's memory gain, phase II's
held-out greedy and sampled returns, MMER (POPGym's measure: the running maximum over training
of the sampled policy's mean episodic return), env steps and wall-clock on this machine.

    BENCH_TASKS=popgym-repeat-first-easy BENCH_SELECTIONS=detector python -m bench.popgym
    python -m bench.popgym --table        # the table of bench/results/popgym.json, as Markdown

Rows accumulate in the result file, so tasks can be measured in several sittings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.common import fmt_count, fmt_value, read_rows, run_preset, write_result
from learner.metrics import read_metrics

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "bench" / "reference" / "popgym.json"
TASKS = ("popgym-repeat-first-easy", "popgym-repeat-first-medium", "popgym-count-recall-easy",
         "popgym-count-recall-medium", "popgym-autoencode-easy", "popgym-autoencode-medium",
         "minigrid-memory-s13")
SELECTIONS = ("detector", "uniform", "last")
_ROW_KEYS = {
    "memory_gain_nll": "memup/memory_gain_nll",
    "memory_gain_accuracy": "memup/memory_gain_accuracy",
    "all_steps_gain_nll": "memup/all_steps_gain_nll",
    "last_step_gain_nll": "memup/last_step_gain_nll",
    "memup_updates": "memup/updates",
    "memup_wall_s": "memup/wall_s",
    "greedy_return": "impala/mean_return",
    "sampled_return": "impala/sampled_mean_return",
    "mmer": "impala/mmer",
    "env_steps": "impala/env_steps",
    "impala_wall_s": "impala/wall_s",
    "baseline_greedy_return": "impala/baseline_mean_return",
    "baseline_sampled_return": "impala/baseline_sampled_mean_return",
    "baseline_mmer": "impala/baseline_mmer",
    "baseline_env_steps": "impala/baseline_env_steps",
    "run_wall_s": "run/wall_s",
}


def run_one(task: str, selection: str) -> dict:
    overrides = {"name": f"bench-{task}-{selection}", "baseline": selection == "detector",
                 "memup": {"target_selection": selection}}
    config, run, figures = run_preset(task, overrides, "bench-popgym", f"{task}-{selection}")
    row = {"task": task, "env_id": config.env.config.id, "selection": selection, "run_dir":
           str(run.root.relative_to(ROOT))}
    row.update({name: figures.get(key) for name, key in _ROW_KEYS.items()})
    records = read_metrics(run.metrics)
    row["steps_to_best"] = steps_to_best(records, "impala/")
    row["baseline_steps_to_best"] = steps_to_best(records, "impala/baseline_")
    return row


def steps_to_best(records: list[dict], prefix: str, tolerance: float = 0.02) -> float | None:
    """Env steps of the first evaluation whose greedy return came within `tolerance` of the
    best greedy return of the run: how soon the policy got there."""
    points = [(r[f"{prefix}env_steps"], r[f"{prefix}mean_return"]) for r in records
              if r.get(f"{prefix}mean_return") is not None]
    if not points:
        return None
    best = max(value for _, value in points)
    return next(steps for steps, value in points if value >= best - tolerance)


def markdown_table(rows: list[dict], reference: dict) -> list[str]:
    """One line per (task, selection): ours beside POPGym's GRU, LSTM and best model."""
    lines = ["| task | selection | memory gain (nats): uncertain / all steps | MMER | greedy | "
             "steps to best | "
             "baseline MMER | baseline greedy | env steps | wall (s) | POPGym GRU / LSTM / best |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["task"], SELECTIONS.index(r["selection"]))):
        ref = reference.get("tasks", {}).get(row["env_id"], {})
        lines.append(
            f"| {row['task']} | {row['selection']} | {fmt_value(row.get('memory_gain_nll'))} / "
            f"{fmt_value(row.get('all_steps_gain_nll'))} | "
            f"{fmt_value(row.get('mmer'))} | {fmt_value(row.get('greedy_return'))} | "
            f"{fmt_count(row.get('steps_to_best'))} | "
            f"{fmt_value(row.get('baseline_mmer'))} | {fmt_value(row.get('baseline_greedy_return'))} | "
            f"{fmt_count(row.get('env_steps'))} | {fmt_count(row.get('run_wall_s'))} | "
            f"{reference_cell(ref)} |")
    return lines


def reference_cell(ref: dict) -> str:
    """POPGym's GRU / LSTM / best figures; † marks a second-hand figure (see REFERENCE)."""
    parts = []
    for model in ("GRU", "LSTM", "best"):
        entry = ref.get(model) or {}
        value = entry.get("mmer")
        mark = "†" if entry.get("second_hand") else ""
        model_name = f" ({entry['model']})" if model == "best" and entry.get("model") else ""
        parts.append("n/a" if value is None else f"{value:.3f}{mark}{model_name}")
    return " / ".join(parts)


REFERENCE_NOTE = ("† POPGym's figures are second-hand: a third party's transcription of the "
                  "paper's appendix table (bench/reference/popgym.json gives the provenance).")


def record_row(name: str, rows: list[dict], row: dict, keys: tuple[str, ...]) -> list[dict]:
    """`rows` with `row` in place of an earlier row that has the same `keys`, written to
    bench/results/<name>.json (rows accumulate across sittings)."""
    rows = [r for r in rows if any(r[k] != row[k] for k in keys)] + [row]
    write_result(name, {"reference": str(REFERENCE.relative_to(ROOT)), "rows": rows})
    return rows


def print_table(lines: list[str]) -> None:
    print("\n".join(lines))
    print("\n" + REFERENCE_NOTE)


def main() -> int:
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}
    if "--table" in sys.argv:
        print_table(markdown_table(read_rows("popgym"), reference))
        return 0
    tasks = os.environ.get("BENCH_TASKS", ",".join(TASKS)).split(",")
    selections = os.environ.get("BENCH_SELECTIONS", ",".join(SELECTIONS)).split(",")
    rows = read_rows("popgym")
    for task in tasks:
        for selection in selections:
            print(f"== {task} / {selection}", flush=True)
            rows = record_row("popgym", rows, run_one(task, selection), ("task", "selection"))
    print_table(markdown_table(rows, reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
