"""End-to-end `make train` runs: each preset's wall-clock per phase, env steps, store size, peak
RSS per process and final figures, one row per preset in `bench/results/train_runs.json`.

    make train CONFIG=configs/tmaze-10000.yaml RUN_NAME=t10k
    python -m bench.train_runs --run-dir runs/t10k --note "idle machine"
    python -m bench.train_runs --run-dir runs/t100k-s1 --preset tmaze-100000   # a seed's copy

A (preset, seed) row is replaced; other rows stay. `seed` is the run's base seed. Not in `make bench`: it needs trained
runs (minutes to most of an hour each).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import RESULTS_DIR, write_result
from app.config import load_config
from app.peak_memory import PREFIX as PEAK_RSS
from learner.run_dir import RunDir

NAME = "train_runs"
FIGURES = ("memup/updates", "memup/wall_s", "memup/junction_accuracy",
           "memup/memory_gain_nll", "impala/env_steps", "impala/policy_env_steps",
           "impala/wall_s", "impala/eval_s",
           "impala/success_rate", "impala/success_lower_bound", "impala/eval_episodes",
           "impala/mean_return", "run/wall_s")


def _last_store_metrics(run: RunDir) -> dict:
    """The run's last `store/` metrics row (its size once every phase has read from it)."""
    last: dict = {}
    with run.metrics.open() as lines:
        for line in lines:
            row = json.loads(line)
            if "store/bytes" in row:
                last = row
    return last


def run_row(run: RunDir, note: str, preset: str | None = None) -> dict:
    config = load_config(run.config)
    figures = json.loads(run.figures.read_text())
    store = _last_store_metrics(run)
    return {
        "preset": preset or config.name,
        "seed": config.seed,
        "env_id": config.env.config.id,
        "trained_length": config.env.corridor_length,
        "policy_train_env_kwargs": config.impala.train_env_kwargs or None,
        "store_episodes": store.get("store/episodes"),
        "store_steps": store.get("store/steps"),
        "store_mb": round(store["store/bytes"] / 2**20, 1) if store else None,
        **{key: figures.get(key) for key in FIGURES},
        # Peak RSS of each process the run started, by role (absent in runs before it existed).
        **{key: value for key, value in figures.items() if key.startswith(PEAK_RSS)},
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--note", default="", help="how the run went (load, resumes)")
    parser.add_argument("--preset", help="the preset the run's config is a copy of (default: "
                                         "the config's name)")
    args = parser.parse_args()
    row = run_row(RunDir(args.run_dir.resolve()), args.note, args.preset)
    path = RESULTS_DIR / f"{NAME}.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = [r for r in rows if (r["preset"], r.get("seed", 0)) != (row["preset"], row["seed"])]
    rows = sorted(rows + [row], key=lambda r: (r["trained_length"] or 0, r["preset"],
                                               r.get("seed", 0)))
    print(json.dumps(row, indent=2))
    print("written to", write_result(NAME, {
        "command": "python -m bench.train_runs --run-dir RUN --note ...", "rows": rows}))


if __name__ == "__main__":
    main()
