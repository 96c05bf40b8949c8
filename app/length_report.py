"""The "trained at L, evaluated at L, 10 L, 100 L" table and plot, from `eval/L=<L>/...` figures.

`memup evaluate` prints `length_table` and `report.write_report` adds `length_section` to
report.md, so the terminal and the report show the same rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

_KEY = re.compile(r"^eval/L=(\d+)/(.+)$")
COLUMNS = {  # figure name: column title
    "episodes": "episodes",
    "success_rate": "greedy success",
    "mean_return": "mean return",
    "cue_accuracy": "cue accuracy (probe)",
    "baseline_success_rate": "baseline success",
    "baseline_cue_accuracy": "baseline cue accuracy",
    "wall_s": "wall s",
}
PLOT_FILE = "length_generalisation.png"


def is_length_figure(key: str) -> bool:
    """Whether `key` is one of the table's `eval/L=<L>/...` figures."""
    return _KEY.match(key) is not None


def length_rows(figures: dict[str, Any]) -> list[dict[str, float]]:
    """One row per tested corridor length L ({"L": L, "success_rate": ..., ...}), by L."""
    rows: dict[int, dict[str, float]] = {}
    for key, value in figures.items():
        match = _KEY.match(key)
        if match:
            length = int(match.group(1))
            rows.setdefault(length, {"L": length})[match.group(2)] = value
    return [rows[length] for length in sorted(rows)]


def _shown(value: float | None, name: str) -> str:
    if value is None:
        return "–"
    if name == "episodes":
        return str(int(value))
    return f"{value:.1f}" if name in ("wall_s", "mean_return") else f"{value:.3f}"


def length_table(rows: list[dict[str, float]]) -> list[str]:
    """A markdown table: L, then each column of `COLUMNS` that some row has."""
    names = [name for name in COLUMNS if any(name in row for row in rows)]
    lines = ["| L | " + " | ".join(COLUMNS[n] for n in names) + " |",
             "|---:|" + "---:|" * len(names)]
    for row in rows:
        cells = [_shown(row.get(n), n) for n in names]
        lines.append(f"| {int(row['L']):,} | " + " | ".join(cells) + " |")
    return lines


def _plot(rows: list[dict[str, float]], trained: float | None, path: Path) -> None:
    fig, axis = plt.subplots(figsize=(6.5, 3.8))
    lengths = [row["L"] for row in rows]
    for name, label, style in (("success_rate", "greedy success", "o-"),
                               ("cue_accuracy", "cue accuracy (linear probe)", "s--"),
                               ("baseline_success_rate", "baseline greedy success", "o:"),
                               ("baseline_cue_accuracy", "baseline cue accuracy", "s:")):
        points = [(x, row[name]) for x, row in zip(lengths, rows) if name in row]
        if points:
            axis.plot(*zip(*points), style, label=label)
    axis.axhline(0.5, color="grey", linestyle=":", label="chance")
    if trained:
        axis.axvline(trained, color="red", linestyle="--", linewidth=0.8, label="trained at")
    axis.set(xscale="log", xlabel="corridor length L (held-out episodes)", ylim=(0.0, 1.02),
             ylabel="fraction correct", title="Length generalisation")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def length_section(figures: dict[str, Any], directory: Path) -> list[str]:
    """The report's lines (and its PNG in `directory`); none when nothing was evaluated."""
    rows = length_rows(figures)
    if not rows:
        return []
    trained = figures.get("eval/trained_length")
    _plot(rows, trained, directory / PLOT_FILE)
    intro = (f"Trained at L = {int(trained):,}; " if trained else "") + (
        "greedy success of the saved policy and the memory's cue accuracy (a linear probe of "
        "m_{T-1}, fitted at the trained length) on held-out episodes (`memup evaluate`):")
    return ["## Length generalisation", "", intro, "", *length_table(rows), "",
            f"![Length generalisation]({PLOT_FILE})", ""]
