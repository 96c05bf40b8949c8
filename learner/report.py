"""`report.md` with PNG plots, built from the run dir's metrics.jsonl and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from learner.length_report import is_length_figure, length_section  # noqa: E402
from learner.metrics import read_metrics  # noqa: E402
from learner.run_dir import RunDir  # noqa: E402


def _series(records: list[dict], x_key: str, y_key: str) -> tuple[list, list]:
    points = [(r[x_key], r[y_key]) for r in records
              if r.get(y_key) is not None and r.get(x_key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def _plot_memup(records: list[dict], path: Path) -> bool:
    steps, accuracy = _series(records, "step", "memup/junction_accuracy")
    loss_steps, loss = _series(records, "step", "memup/loss")
    if not steps:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(loss_steps, loss)
    left.set(xlabel="update", ylabel="prediction NLL", title="MemUP loss", yscale="log")
    right.plot(steps, accuracy, marker="o")
    right.axhline(0.5, color="grey", linestyle=":", label="chance")
    right.set(xlabel="update", ylabel="junction accuracy", title="Held-out junction accuracy",
              ylim=(0.4, 1.02))
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_detector(trace: dict, path: Path) -> None:
    scores = trace["scores"]
    fig, axis = plt.subplots(figsize=(10, 3))
    axis.plot(range(len(scores)), scores, linewidth=0.8)
    axis.axvline(trace["junction"], color="red", linestyle="--", label="junction")
    axis.set(xlabel="step t", ylabel="uncertainty score (nats)",
             title="Detector uncertainty along one held-out episode")
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_impala(records: list[dict], path: Path) -> bool:
    fig, axis = plt.subplots(figsize=(6, 3.5))
    drawn = False
    for prefix, label in (("impala/", "pretrained MemUP memory"),
                          ("impala/baseline_", "IMPALA-LSTM baseline")):
        x, y = _series(records, f"{prefix}env_steps", f"{prefix}success_rate")
        if x:
            axis.plot(x, y, marker="o", label=label)
            drawn = True
    if not drawn:
        plt.close(fig)
        return False
    axis.axhline(0.5, color="grey", linestyle=":", label="chance")
    axis.set(xlabel="env steps", ylabel="greedy success rate", ylim=(0.0, 1.02),
             title="IMPALA on the Noisy T-Maze")
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _table(figures: dict[str, Any]) -> list[str]:
    rows = ["| figure | value |", "|---|---|"]
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        rows.append(f"| `{key}` | {shown} |")
    return rows


def run_title(run: RunDir, config_name: str) -> str:
    """The report's title, the same whichever command (train, evaluate) rebuilds it."""
    return f"MemUP-RL run `{run.root.name}` ({config_name})"


def write_report(run: RunDir, figures: dict[str, Any], title: str) -> Path:
    """Writes `report.md` and its PNGs next to it; returns the report's path."""
    records = read_metrics(run.metrics) if run.metrics.exists() else []
    lines = [f"# {title}", ""]
    if _plot_memup(records, run.root / "memup_curves.png"):
        lines += ["## Phase I: MemUP pretraining", "", "![MemUP curves](memup_curves.png)", ""]
    if run.detector_trace.exists():
        _plot_detector(json.loads(run.detector_trace.read_text()),
                       run.root / "detector_uncertainty.png")
        lines += ["The detector's uncertainty spikes at the junction, the only step whose "
                  "outcome the local context cannot predict:", "",
                  "![Detector uncertainty](detector_uncertainty.png)", ""]
    if _plot_impala(records, run.root / "impala_success.png"):
        lines += ["## Phase II: IMPALA", "", "![IMPALA success](impala_success.png)", ""]
    lines += length_section(figures, run.root)
    others = {k: v for k, v in figures.items() if not is_length_figure(k)}  # tabled above
    lines += ["## Figures", "", *_table(others), ""]
    run.report.write_text("\n".join(lines))
    return run.report
