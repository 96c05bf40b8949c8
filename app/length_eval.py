"""`memup evaluate`: how far a trained run generalises in length (trained at L, tested at 100 L).

    figures = evaluate_run(RunDir(Path("runs/latest")), LengthEvalSettings(lengths=(1000, 10**5)))
    figures["eval/L=100000/success_rate"], figures["eval/L=100000/cue_accuracy"]

For every length, on the same held-out episode seeds (drawn from `seed`, never the store):
- the saved policy's greedy success rate and mean return (`--baseline`: the baseline's too),
  run by `evaluation.streaming` (cost = T × one batched step, memory flat in T), long runs
  split over one process per core (`evaluation.workers`);
- the memory's cue accuracy: a linear probe (`evaluation.cue_probe`) of m_{T-1} → cue side,
  fitted once on its own episodes (seeds from `seed + 1`, disjoint from the test seeds) at the
  run's own length and only tested at the others.
The figures are merged into the run's figures.json (`eval/L=<L>/...`) and report.md is rebuilt.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from envs import EnvSpec
from envs.validation import require_int
from app.config import RunConfig, load_config
from learner.impala.evaluation.cue_probe import CueProbe
from learner.impala.evaluation.workers import evaluate_streamed, usable_cores
from learner.impala.evaluation.held_out import held_out_seeds
from app.length_report import length_rows, length_table
from app.report import run_title, write_report
from learner.run_dir import RunDir, RunDirError
from memup_module.rl_module import load_policy

DEFAULT_SEED = 3_000_017
"""Seed of the test episodes: apart from phase I's (1 000 003) and phase II's (2 000 003) own
evaluation sets, which chose when training stopped."""
LENGTH_FACTORS = (1, 10, 100)
"""Default lengths, as multiples of the run's own corridor length."""


@dataclasses.dataclass(frozen=True)
class LengthEvalSettings:
    """What `memup evaluate` runs; the defaults are its command line's."""

    lengths: tuple[int, ...] = ()
    """Corridor lengths L to test at; empty: the run's own L, 10 L and 100 L."""
    length_jitter: int | None = None
    """J of the test mazes (T = L + U, U ≤ J); None: the run's own."""
    episodes: int = 64
    """Test episodes per length, all stepped together."""
    probe_episodes: int = 256
    """Episodes at the run's own length that the cue probe is fitted on."""
    seed: int = DEFAULT_SEED
    """Test seeds come from `seed`, the probe's from `seed + 1`."""
    baseline: bool = False
    """Also evaluate the run's baseline_policy."""
    workers: int = dataclasses.field(default_factory=usable_cores)
    """Processes that share the episodes of a long run (`evaluation.workers`); default: one per
    usable core."""

    def __post_init__(self) -> None:
        # A list from argparse; a length given twice is tested once.
        object.__setattr__(self, "lengths", tuple(dict.fromkeys(self.lengths)))
        for length in self.lengths:
            require_int("corridor length (--corridor-length)", length, 1)
        if self.length_jitter is not None:
            require_int("length jitter (--length-jitter)", self.length_jitter, 0)
        require_int("episodes (--episodes)", self.episodes, 1)
        require_int("probe episodes (--probe-episodes)", self.probe_episodes, 2)
        require_int("seed (--seed)", self.seed, 0)
        require_int("workers (--workers)", self.workers, 1)


def _policies(run: RunDir, baseline: bool) -> dict[str, Path]:
    """{key prefix: policy dir} of the policies to test; a clear error when one is missing."""
    if not run.config.is_file():
        raise RunDirError(f"{run.root} is not a run dir (no config.yaml): pass the --run-dir of "
                          "a `memup train` run")
    policies = {"": run.policy}
    if baseline:
        policies["baseline_"] = run.baseline_policy
    for path in policies.values():
        if not (path / "metadata.json").is_file():
            command = "memup policy --baseline" if path == run.baseline_policy else "memup policy"
            raise RunDirError(f"{run.root} has no trained policy in {path.name}/: train it with "
                              f"`{command} --config {run.config} --run-dir {run.root}` (or "
                              "`memup train`)")
    return policies


def _seed_sets(settings: LengthEvalSettings) -> tuple[np.ndarray, np.ndarray]:
    """(test seeds, probe seeds), disjoint."""
    test = held_out_seeds(settings.seed, settings.episodes)
    probe = held_out_seeds(settings.seed + 1, settings.probe_episodes)
    return test, probe[~np.isin(probe, test)]


def evaluate_policy(policy_dir: Path, trained: EnvSpec, tests: list[EnvSpec],
                    seeds: tuple[np.ndarray, np.ndarray], prefix: str = "",
                    on_length: Callable[[int, dict[str, float]], None] | None = None,
                    workers: int = 1) -> dict[str, float]:
    """`eval/L=<L>/<prefix>...` figures of the policy saved in `policy_dir`: fits the probe at
    `trained`, then runs the test seeds at each maze of `tests` (long ones over `workers`
    processes), calling `on_length(L, row)` after each."""
    test_seeds, probe_seeds = seeds
    module = load_policy(policy_dir)
    fit = evaluate_streamed(policy_dir, trained, probe_seeds, workers, module)
    probe = CueProbe.fit(fit.junction_memory, fit.cue_sides)
    figures = {f"eval/{prefix}probe_fit_accuracy": probe.fit_accuracy,
               f"eval/{prefix}probe_episodes": float(len(probe_seeds))}
    for maze in tests:
        result = evaluate_streamed(policy_dir, maze, test_seeds, workers, module)
        row = {"success_rate": result.greedy.success_rate,
               "mean_return": result.greedy.mean_return,
               "cue_accuracy": probe.accuracy(result.junction_memory, result.cue_sides),
               "episodes": float(result.greedy.episodes),
               "wall_s": result.wall_s,
               "step_us": result.seconds_per_step * 1e6}
        figures.update({f"eval/L={maze.corridor_length}/{prefix}{k}": v for k, v in row.items()})
        if on_length is not None:
            on_length(maze.corridor_length, row)
    return figures


def evaluate_run(run: RunDir, settings: LengthEvalSettings,
                 echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Tests the run's policies at every length, merges the figures into figures.json and
    rebuilds report.md; returns the new figures. `echo` gets a line per finished length."""
    policies = _policies(run, settings.baseline)
    config: RunConfig = load_config(run.config)
    trained = config.env
    if not trained.junction_cue or trained.corridor_length is None:
        raise RunDirError(f"{run.root} trained {trained.label}: length evaluation needs an env "
                          "with a cue and a corridor length (the Noisy T-Maze)")
    lengths = settings.lengths or tuple(f * trained.corridor_length for f in LENGTH_FACTORS)
    tests = [trained.at_length(n, settings.length_jitter) for n in lengths]
    seeds = _seed_sets(settings)
    figures: dict[str, Any] = {"eval/trained_length": float(trained.corridor_length),
                               "eval/seed": float(settings.seed)}
    for prefix, path in policies.items():
        name = prefix.rstrip("_") or "policy"

        def progress(length: int, row: dict[str, float], name: str = name) -> None:
            echo(f"{name} at L={length:,}: greedy success {row['success_rate']:.3f}, cue "
                 f"accuracy {row['cue_accuracy']:.3f}, {row['wall_s']:.1f} s "
                 f"({row['step_us']:.0f} µs per batched step)")

        figures.update(evaluate_policy(path, trained, tests, seeds, prefix, progress,
                                       settings.workers))
    stored = json.loads(run.figures.read_text()) if run.figures.is_file() else {}
    stored.update(figures)
    run.figures.write_text(json.dumps(stored, indent=2))
    write_report(run, stored, title=run_title(run, config.name))
    echo("\n".join(length_table(length_rows(figures))))
    return figures
