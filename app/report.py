"""`report.md` with PNG plots, built from the run dir's metrics.jsonl and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from app.length_report import is_length_figure, length_section  # noqa: E402
from learner.metrics import read_metrics  # noqa: E402
from learner.run_dir import RunDir  # noqa: E402


def _series(records: list[dict], x_key: str, y_key: str) -> tuple[list, list]:
    points = [(r[x_key], r[y_key]) for r in records
              if r.get(y_key) is not None and r.get(x_key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def _plot_memup(records: list[dict], path: Path) -> bool:
    """Loss, and what the memory adds: T-Maze junction accuracy, or for any env the accuracy at
    the uncertain steps from memory against from the local context alone."""
    loss_steps, loss = _series(records, "step", "memup/loss")
    steps, accuracy = _series(records, "step", "memup/junction_accuracy")
    gain_steps, with_memory = _series(records, "step", "memup/uncertain_accuracy")
    _, local = _series(records, "step", "memup/context_accuracy")
    if not (steps or gain_steps):
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(loss_steps, loss)
    left.set(xlabel="update", ylabel="prediction NLL", title="MemUP loss", yscale="log")
    if steps:
        right.plot(steps, accuracy, marker="o", label="junction, from memory")
        right.axhline(0.5, color="grey", linestyle=":", label="chance")
    if gain_steps and len(local) == len(gain_steps):
        right.plot(gain_steps, with_memory, marker=".", label="uncertain steps, from memory")
        right.plot(gain_steps, local, marker=".", linestyle="--",
                   label="uncertain steps, local context only")
    right.set(xlabel="update", ylabel="held-out accuracy", ylim=(0.0, 1.02),
              title="What the memory predicts")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_detector(trace: dict, path: Path, top_k: int = 5) -> None:
    """Scores along one episode, the top-K uncertain steps marked on top of the curve."""
    scores = trace["scores"]
    top = sorted(range(len(scores)), key=scores.__getitem__)[-top_k:]
    fig, axis = plt.subplots(figsize=(10, 3))
    axis.axvline(trace["junction"], color="grey", linewidth=0.6, linestyle=":",
                 label="last step", zorder=1)
    axis.plot(range(len(scores)), scores, linewidth=0.8, zorder=2)
    axis.scatter(top, [scores[t] for t in top], color="red", s=24, zorder=3,
                 label=f"{len(top)} most uncertain steps")
    axis.set(xlabel="step t", ylabel="uncertainty score (nats)",
             title="Detector uncertainty along held-out episode "
                   f"{trace.get('episode', 0)} (the most uncertain of the first ones)")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_impala(records: list[dict], path: Path) -> bool:
    """Held-out greedy return (and, when recorded, the return of training episodes) over env
    steps, for the policy and the baseline: a line even when the target came early."""
    fig, axis = plt.subplots(figsize=(7, 3.5))
    drawn = False
    for prefix, label in (("impala/", "pretrained MemUP memory"),
                          ("impala/baseline_", "IMPALA-LSTM baseline")):
        x, y = _series(records, f"{prefix}env_steps", f"{prefix}mean_return")
        if x:
            line, = axis.plot(x, y, marker="o", label=f"{label}: held-out greedy")
            drawn = True
            tx, ty = _series(records, f"{prefix}env_steps", f"{prefix}train_return_mean")
            if tx:
                axis.plot(tx, ty, color=line.get_color(), linestyle="--", linewidth=0.8,
                          label=f"{label}: training episodes")
    if not drawn:
        plt.close(fig)
        return False
    axis.set(xlabel="env steps", ylabel="mean episodic return", title="IMPALA: return")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_online(records: list[dict], path: Path) -> bool:
    """The online loop on IMPALA's env-step axis: the policy's held-out return beside the
    memory version it runs, and what the store holds (share of policy episodes, samples per
    insert)."""
    rounds = [r for r in records if "online/memory_version" in r]
    if not rounds:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    x, returns = _series(rounds, "impala/env_steps", "impala/mean_return")
    left.plot(x, returns, marker="o", label="held-out greedy return")
    left.set(xlabel="env steps", ylabel="mean episodic return", title="Policy and memory")
    versions = left.twinx()
    x, version = _series(rounds, "impala/env_steps", "online/memory_version")
    versions.step(x, version, where="post", color="grey", label="memory version")
    versions.set_ylabel("memory version")
    left.legend(fontsize=8, loc="upper left")
    versions.legend(fontsize=8, loc="lower right")
    for key, label in (("online/policy_episode_share", "policy episodes / all inserted"),
                       ("online/samples_per_insert", "samples per insert")):
        x, y = _series(rounds, "impala/env_steps", key)
        right.plot(x, y, marker=".", label=label)
    right.set(xlabel="env steps", title="The store")
    right.legend(fontsize=8)
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
        lines += ["The detector's uncertainty along one held-out episode; the red dots are "
                  "the steps whose outcome the local context predicts worst (in the T-Maze, "
                  "the junction):", "", "![Detector uncertainty](detector_uncertainty.png)", ""]
    if _plot_impala(records, run.root / "impala_return.png"):
        lines += ["## Phase II: IMPALA", "", "![IMPALA return](impala_return.png)", ""]
    if _plot_online(records, run.root / "online_loop.png"):
        lines += ["## The online loop", "", "Both learners on IMPALA's env-step axis:", "",
                  "![Online loop](online_loop.png)", ""]
    lines += length_section(figures, run.root)
    others = {k: v for k, v in figures.items() if not is_length_figure(k)}  # tabled above
    lines += ["## Figures", "", *_table(others), ""]
    run.report.write_text("\n".join(lines))
    return run.report
