"""`make bench`: runs every benchmark in its own process and prints where results landed.

Each benchmark is a module `bench.<name>` whose `__main__` prints its figures and writes
`bench/results/<name>.json`. A separate process per benchmark keeps CPU pinning, Ray and Redis
of one from disturbing the next. `BENCH=name1,name2` runs a subset.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = ["env_throughput", "store_throughput", "collection", "memup_learner", "impala",
              "impala_sampling", "length_eval"]
# Not in the default list: `popgym` takes longer than the rest together (every POPGym/MiniGrid
# preset, each target selection); run it with `make bench BENCH=popgym` (BENCH_TASKS and
# BENCH_SELECTIONS narrow it). Nor `target_selection` (phase I per target selection over seeds,
# `make bench BENCH=target_selection`; BENCH_TASK and BENCH_SEEDS choose), nor `online_table` (the
# online loop against two-phase, fine-tuning and the baseline, hours per task), nor
# `env_runner_presets` (phase II on the POPGym and MiniGrid presets with either EnvRunner,
# ~8 min: `make bench BENCH=env_runner_presets`).
ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    chosen = os.environ.get("BENCH")
    names = chosen.split(",") if chosen else BENCHMARKS
    failed = []
    for name in names:
        if not (ROOT / "bench" / f"{name}.py").exists():
            print(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT).returncode != 0:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    print("results in", ROOT / "bench" / "results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
