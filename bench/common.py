"""Shared helpers of the benchmarks: timing, machine description, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def best_rate(work: Callable[[], int], repeats: int) -> float:
    """Items per second of the fastest of `repeats` runs of `work` (which returns its items)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        items = work()
        best = max(best, items / (time.perf_counter() - start))
    return best


def write_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def read_rows(name: str) -> list[dict]:
    """The "rows" of bench/results/<name>.json, for benchmarks whose rows accumulate."""
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()).get("rows", []) if path.is_file() else []


def fmt_value(value: float | None) -> str:
    """A figure for a Markdown table: 3 decimals, "–" when missing."""
    return "–" if value is None else f"{value:.3f}"


def fmt_count(value: float | None) -> str:
    """A count for a Markdown table: thousands separated, "–" when missing."""
    return "–" if value is None else f"{value:,.0f}"


def run_preset(preset: str, overrides: dict, run_group: str, label: str) -> tuple:
    """Runs `configs/<preset>.yaml` with `overrides` end to end in its own run dir under
    runs/<run_group>/; returns (config, run dir, the run's figures)."""
    from app.config import load_config, save_config
    from app.pipeline import run_pipeline
    from learner.run_dir import RunDir

    root = RESULTS_DIR.parent.parent
    config = load_config(root / "configs" / f"{preset}.yaml", overrides=overrides)
    run = RunDir.create(root / "runs" / run_group / f"{label}-{time.strftime('%Y%m%d-%H%M%S')}")
    save_config(config, run.config)
    figures = run_pipeline(config, run, dashboard=False)
    return config, run, figures
