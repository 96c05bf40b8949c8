"""The run directory layout of docs/design.md §8: the only place a run-dir path is spelled.

    run = RunDir.create("runs/demo")
    run.memory          # runs/demo/memup/memory.pt: all phase I hands phase II
    run.policy          # runs/demo/policy/: RLModule.from_checkpoint(run.policy)

The phases take these paths (or the `RunDir` itself) from the caller; none spells its own.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path


class RunDirError(ValueError):
    """The run dir cannot be used as asked; the message says what to run or pass instead."""


@dataclasses.dataclass(frozen=True)
class RunDir:
    root: Path

    @classmethod
    def create(cls, root: str | Path) -> "RunDir":
        run = cls(Path(root).resolve())
        run.root.mkdir(parents=True, exist_ok=True)
        return run

    @staticmethod
    def default_root(name: str, runs_dir: Path = Path("runs")) -> Path:
        return runs_dir / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"

    @property
    def store_name(self) -> str:
        """Name of the run's episode store: unique per run on a shared Redis server."""
        return self.root.name

    config = property(lambda self: self.root / "config.yaml")
    redis = property(lambda self: self.root / "redis")
    memup = property(lambda self: self.root / "memup")
    checkpoints = property(lambda self: self.root / "memup" / "checkpoints")
    memory = property(lambda self: self.root / "memup" / "memory.pt")
    detector_trace = property(lambda self: self.root / "memup" / "detector_trace.json")
    policy = property(lambda self: self.root / "policy")
    baseline_policy = property(lambda self: self.root / "baseline_policy")
    # IMPALA's algorithm checkpoints while it trains; removed once the policy is saved.
    policy_checkpoints = property(lambda self: self.root / "policy_checkpoints")
    baseline_checkpoints = property(lambda self: self.root / "baseline_checkpoints")
    metrics = property(lambda self: self.root / "metrics.jsonl")
    figures = property(lambda self: self.root / "figures.json")
    report = property(lambda self: self.root / "report.md")

    def link_latest(self) -> None:
        """Points `<parent>/latest` at this run."""
        latest = self.root.parent / "latest"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(self.root.name)
