"""How far each preset's trained run generalises in length: `memup evaluate` on its run dir at
longer and longer mazes, one row per (preset, L) in `bench/results/length_generalisation.json`.

    make train CONFIG=configs/tmaze-10000.yaml RUN_NAME=t10k
    python -m bench.length_generalisation --run-dir runs/t10k --corridor-length 10000 1e5 1e6

Rows of other presets already in the file stay, so docs/results.md §5's table grows one run at a
time; a preset's rows at the lengths given are replaced. Not in `make bench`: it needs trained runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import RESULTS_DIR, write_result
from app.config import load_config
from app.length_eval import LengthEvalSettings, evaluate_run
from app.length_report import length_rows
from learner.run_dir import RunDir

NAME = "length_generalisation"


def _length(text: str) -> int:
    return int(float(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--corridor-length", type=_length, nargs="+", required=True)
    parser.add_argument("--episodes", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `memup evaluate`: a second thread waits on a busy core
    run = RunDir(args.run_dir.resolve())
    preset = load_config(run.config).name
    start = time.perf_counter()
    figures = evaluate_run(run, LengthEvalSettings(lengths=tuple(args.corridor_length),
                                                   episodes=args.episodes))
    stored = json.loads(run.figures.read_text())
    trained = int(figures["eval/trained_length"])
    new_rows = [{"preset": preset, "trained_length": trained, **row, "L": int(row["L"]),
                 "policy_greedy_success_at_trained_length": stored.get("impala/success_rate")}
                for row in length_rows(figures)]
    path = RESULTS_DIR / f"{NAME}.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    replaced = {(row["preset"], row["L"]) for row in new_rows}
    rows = [row for row in rows if (row["preset"], row["L"]) not in replaced] + new_rows
    rows.sort(key=lambda row: (row["trained_length"], row["L"]))
    print("written to", write_result(NAME, {
        "command": "python -m bench.length_generalisation --run-dir RUN --corridor-length L ...",
        "last_wall_s": round(time.perf_counter() - start, 1), "rows": rows}))


if __name__ == "__main__":
    main()
