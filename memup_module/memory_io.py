"""The `memory.pt` file: {"format": "memup-memory/1", "config": {...}, "state_dict": {...}}."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from memup_module.config import MemoryConfig
from memup_module.memory import Memory

MEMORY_FORMAT = "memup-memory/1"


def save_memory(
    path: str | os.PathLike, memory: Memory, config: MemoryConfig | None = None
) -> Path:
    """Writes the memory's weights (on CPU) and architecture; atomic via a temporary file."""
    config = config or memory.config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": MEMORY_FORMAT,
        "config": dataclasses.asdict(config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in memory.state_dict().items()},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_memory(path: str | os.PathLike, device: torch.device | str = "cpu") -> Memory:
    """The memory saved at `path`, in eval mode. Loads with `weights_only=True` (no pickle code)."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:
        raise ValueError(
            f"{path} is not a {MEMORY_FORMAT} memory file (it does not load as plain tensors: "
            f"{error.__class__.__name__}); export one with memup_module.save_memory"
        ) from error
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != MEMORY_FORMAT:
        raise ValueError(
            f"{path} is not a {MEMORY_FORMAT} memory file (format is {found!r}); export one "
            "with memup_module.save_memory or MemUPLearner.export_memory"
        )
    memory = Memory(MemoryConfig(**payload["config"]))
    memory.load_state_dict(payload["state_dict"])
    return memory.to(device).eval()
