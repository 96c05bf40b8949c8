"""Learner checkpoints: plain tensors and values only, loaded with `weights_only=True`.

A checkpoint is one file `ckpt-<step>.pt` in a checkpoint folder holding everything the next
update depends on (weights, optimiser state, slot contents, carried memory state, RNG state),
so a restored learner's next update is bit-identical to an uninterrupted run's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FORMAT = "memup-learner-checkpoint/1"
_NAME = re.compile(r"^ckpt-(\d+)\.pt$")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Writes `state` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The state saved by `save_checkpoint`; refuses anything else with a clear error."""
    path = Path(path)
    payload = torch.load(path, map_location=device, weights_only=True)
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} file (format is {found!r})")
    return payload


class CheckpointDir:
    """Numbered checkpoints in one folder; keeps the newest `keep`."""

    def __init__(self, folder: str | os.PathLike, keep: int = 3) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def path_for(self, step: int) -> Path:
        return self.folder / f"ckpt-{step:09d}.pt"

    def all(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _NAME.match(p.name))]
        return [p for _, p in sorted(found)]

    def latest(self) -> Path | None:
        paths = self.all()
        return paths[-1] if paths else None

    def save(self, step: int, state: dict[str, Any]) -> Path:
        path = save_checkpoint(self.path_for(step), state)
        for old in self.all()[:-self.keep]:
            old.unlink(missing_ok=True)
        return path
