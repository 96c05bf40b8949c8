"""Every memory cell on POPGym's recall tasks, beside POPGym's figure for the same model.

Per (cell, task): the task's preset end to end, two-phase (collect → MemUP → IMPALA, the mode
that was at least as good as online on these tasks in `bench.online_table`), the preset's
budgets, `memup.memory.cell` set, baseline off. The row holds phase I's memory gain, MMER,
the held-out greedy return, env steps and wall time; the table puts POPGym's figure for the
same model beside it where `bench/reference/popgym.json` has one (second-hand, marked †).

    python -m bench.cells_popgym                                  # every cell, every task
    BENCH_CELLS=gru,lstm BENCH_TASKS=popgym-count-recall-easy python -m bench.cells_popgym
    python -m bench.cells_popgym --table

Rows accumulate in bench/results/cells_popgym.json across sittings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.common import fmt_count, fmt_value, read_rows, run_preset
from bench.popgym import REFERENCE, print_table, record_row
from memup_module.cells import CELL_NAMES

ROOT = Path(__file__).resolve().parent.parent
NAME = "cells_popgym"
TASKS = ("popgym-count-recall-easy", "popgym-autoencode-easy", "popgym-repeat-first-medium")
POPGYM_MODEL = {"gru": "GRU", "lstm": "LSTM", "indrnn": "IndRNN", "popgym_indrnn": "IndRNN",
                "popgym_lmu": "LMU", "popgym_fwp": "FWP", "popgym_linear_attention": "FART"}
"""The model of POPGym's table that each cell is (RIM has none there)."""
_ROW_KEYS = {
    "memory_gain_nll": "memup/memory_gain_nll",
    "memup_updates": "memup/updates",
    "mmer": "impala/mmer",
    "greedy_return": "impala/mean_return",
    "env_steps": "impala/env_steps",
    "run_wall_s": "run/wall_s",
}


def run_one(cell: str, task: str) -> dict:
    overrides = {"name": f"bench-{task}-{cell}", "mode": "two-phase", "baseline": False,
                 "memup": {"memory": {"cell": cell}}}
    config, run, figures = run_preset(task, overrides, "bench-cells-popgym", f"{task}-{cell}")
    row = {"cell": cell, "task": task, "env_id": config.env.config.id,
           "run_dir": str(run.root.relative_to(ROOT))}
    row.update({name: figures.get(key) for name, key in _ROW_KEYS.items()})
    return row


def same_model_figure(cell: str, ref: dict) -> str:
    """POPGym's MMER for the model this cell is, where the reference holds it; else n/a."""
    model = POPGYM_MODEL.get(cell)
    entry = ref.get(model) if model in ("GRU", "LSTM") else None
    best = ref.get("best") or {}
    if not entry and model and str(best.get("model", "")).startswith(model):
        entry = best
    if not entry or entry.get("mmer") is None:
        return "n/a"
    return f"{entry['mmer']:.3f}{'†' if entry.get('second_hand') else ''} ({model})"


def markdown_table(rows: list[dict], reference: dict) -> list[str]:
    lines = ["| cell | task | memory gain (nats) | MMER | greedy | env steps | wall (s) | "
             "POPGym, same model |", "|---|---|---|---|---|---|---|---|"]
    order = {cell: index for index, cell in enumerate(CELL_NAMES)}
    for row in sorted(rows, key=lambda r: (TASKS.index(r["task"]) if r["task"] in TASKS
                                           else len(TASKS), order.get(r["cell"], 99))):
        ref = reference.get("tasks", {}).get(row["env_id"], {})
        lines.append(f"| {row['cell']} | {row['task']} | {fmt_value(row.get('memory_gain_nll'))} "
                     f"| {fmt_value(row.get('mmer'))} | {fmt_value(row.get('greedy_return'))} | "
                     f"{fmt_count(row.get('env_steps'))} | {fmt_count(row.get('run_wall_s'))} | "
                     f"{same_model_figure(row['cell'], ref)} |")
    return lines


def main() -> int:
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}
    rows = read_rows(NAME)
    if "--table" not in sys.argv:
        cells = os.environ.get("BENCH_CELLS", ",".join(CELL_NAMES)).split(",")
        tasks = os.environ.get("BENCH_TASKS", ",".join(TASKS)).split(",")
        unknown = [c for c in cells if c not in CELL_NAMES]
        if unknown:
            print(f"unknown BENCH_CELLS {unknown}; choose from {list(CELL_NAMES)}",
                  file=sys.stderr)
            return 2
        for cell in cells:
            for task in tasks:
                print(f"== {cell} / {task}", flush=True)
                rows = record_row(NAME, rows, run_one(cell, task), ("cell", "task"))
    print_table(markdown_table(rows, reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
