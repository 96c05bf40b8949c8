"""Every memory cell (memup_module.cells) on T-Maze-1000 and in the streaming evaluator's step.

Per cell: the whole pipeline of `configs/tmaze-1000.yaml` (or `--preset`) with
`memup.memory.cell` set (phase I updates to junction accuracy 1.0, its updates per second,
phase II greedy success and env steps; baseline off; at most 8 000 MemUP updates and 200 000
IMPALA env steps), and the greedy step's throughput (`Memory.precompute` + `Memory.step` on
256 mazes, one thread: what the streaming evaluator runs per step). One row per cell and
preset in `bench/results/memory_cells.json`.

    python -m bench.memory_cells                      # every cell
    python -m bench.memory_cells --cells gru rim      # some
    python -m bench.memory_cells --cells lstm gru --preset configs/tmaze-10000.yaml
    python -m bench.memory_cells --cells indrnn --max-updates 16000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from bench.common import best_rate, read_rows, write_result
from memup_module import Memory, MemoryConfig
from memup_module.cells import CELL_NAMES

NAME = "memory_cells"
ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "configs" / "tmaze-1000.yaml"
MAX_UPDATES = 8000
MAX_ENV_STEPS = 200_000
FIGURES = ("memup/updates", "memup/junction_accuracy", "memup/wall_s", "impala/success_rate",
           "impala/env_steps", "impala/wall_s", "run/wall_s")


def greedy_steps_per_s(cell: str, mazes: int = 256, steps: int = 200) -> float:
    """Memory steps per second (mazes x steps) of precompute + step, as the evaluator runs."""
    torch.set_num_threads(1)
    memory = Memory(MemoryConfig(cell=cell)).eval()
    obs = torch.randn(steps, mazes, 3)
    actions = torch.randint(0, 2, (mazes,))

    def work() -> int:
        with torch.no_grad():
            pre = memory.precompute(obs)
            state = memory.initial_state(mazes)
            for t in range(steps):
                _, state = memory.step(pre[t], actions if t else None, state)
        return mazes * steps

    return best_rate(work, repeats=3)


def pipeline_row(cell: str, preset_path: Path, workdir: Path, max_updates: int) -> dict:
    """`memup train` on the preset with this cell; the run's figures."""
    preset = yaml.safe_load(preset_path.read_text())
    preset["name"] = f"{preset['name']}-{cell}"
    preset["baseline"] = False
    preset["memup"].setdefault("memory", {})["cell"] = cell
    # Capped so that a cell that does not learn the maze ends the row in minutes.
    preset["memup"]["max_updates"] = min(preset["memup"].get("max_updates", max_updates),
                                         max_updates)
    preset["impala"]["max_env_steps"] = min(preset["impala"].get("max_env_steps",
                                                                 MAX_ENV_STEPS), MAX_ENV_STEPS)
    config = workdir / f"{cell}.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = workdir / cell
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app.cli", "train", "--config", str(config),
                           "--run-dir", str(run_dir), "--no-dashboard"], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stdout + done.stderr)[-1500:],
                "wall_s": time.perf_counter() - start}
    figures = json.loads((run_dir / "figures.json").read_text())
    row = {key: figures.get(key) for key in FIGURES}
    row["memup/updates_per_s"] = figures["memup/updates"] / figures["memup/wall_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(CELL_NAMES),
                        choices=list(CELL_NAMES))
    parser.add_argument("--preset", type=Path, default=PRESET,
                        help="a T-Maze preset (default configs/tmaze-1000.yaml)")
    parser.add_argument("--max-updates", type=int, default=MAX_UPDATES,
                        help=f"MemUP update cap per run (default {MAX_UPDATES})")
    args = parser.parse_args()
    preset = args.preset.resolve()
    label = str(preset.relative_to(ROOT)) if preset.is_relative_to(ROOT) else preset.name
    rows = {(row["cell"], row.get("preset", str(PRESET.relative_to(ROOT)))): row
            for row in read_rows(NAME)}
    with tempfile.TemporaryDirectory() as workdir:
        for cell in args.cells:
            row = {"cell": cell, "preset": label, "max_updates": args.max_updates,
                   "greedy_steps_per_s": greedy_steps_per_s(cell),
                   **pipeline_row(cell, preset, Path(workdir), args.max_updates)}
            print(json.dumps(row), flush=True)
            rows[(cell, label)] = row
    path = write_result(NAME, {"command": "python -m bench.memory_cells [--preset P] "
                                          "[--max-updates N]",
                               "settings": f"baseline off, at most max_updates MemUP updates "
                                           f"({MAX_UPDATES} where a row has none) and "
                                           f"{MAX_ENV_STEPS} IMPALA env steps",
                               "rows": list(rows.values())})
    print("written to", path)


if __name__ == "__main__":
    main()
