"""Phase-II algorithm checkpoints: `--resume` after a kill continues IMPALA where it stopped.

    checkpoints = AlgoCheckpoints(run.policy_checkpoints, every=50)
    checkpoints.restore(algo)               # the newest one, if any: learner, optimiser, counters
    checkpoints.after_iteration(algo)       # saves every `every` iterations

Each checkpoint is RLlib's `algo.save_to_path` in a folder of its own; a small `latest` file,
replaced atomically once the folder is complete, names the newest, so a kill during a save
leaves the previous checkpoint in use.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class AlgoCheckpoints:
    def __init__(self, root: Path, every: int) -> None:
        self.root = Path(root)
        self.every = every
        self._iterations = 0

    def latest(self) -> Path | None:
        pointer = self.root / "latest"
        if not pointer.is_file():
            return None
        path = self.root / pointer.read_text().strip()
        return path if path.is_dir() else None

    def restore(self, algo: Any) -> bool:
        """Loads the newest checkpoint into `algo`; False when there is none."""
        latest = self.latest()
        if latest is None:
            return False
        algo.restore_from_path(latest)
        # Count on from it, so that the next save never reuses (and first deletes) its folder.
        self._iterations = int(latest.name.rpartition("-")[2])
        log.info("impala: continues from %s", latest)
        return True

    def after_iteration(self, algo: Any) -> None:
        self._iterations += 1
        if self.every and self._iterations % self.every == 0:
            self.save(algo)

    def save(self, algo: Any) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        previous = self.latest()
        name = f"iteration-{self._iterations:08d}"
        path = self.root / name
        shutil.rmtree(path, ignore_errors=True)
        algo.save_to_path(path)
        pointer = self.root / "latest.tmp"
        pointer.write_text(name)
        os.replace(pointer, self.root / "latest")
        if previous is not None and previous != path:
            shutil.rmtree(previous, ignore_errors=True)
        return path

    def remove(self) -> None:
        """Drops every checkpoint (the phase finished and saved its policy)."""
        shutil.rmtree(self.root, ignore_errors=True)
