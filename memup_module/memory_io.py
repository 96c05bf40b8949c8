"""The `memory.pt` file: {"format": "memup-memory/1", "config": {...}, "state_dict": {...},
"codec": {...}} (the target codec the memory was trained to predict, when known)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from memup_module.config import MemoryConfig
from memup_module.memory import Memory

MEMORY_FORMAT = "memup-memory/1"


def save_memory(
    path: str | os.PathLike, memory: Memory, config: MemoryConfig | None = None,
    codec: dict | None = None,
) -> Path:
    """Writes the memory's weights (on CPU), architecture and, if given, the target codec's
    plain form (`memup_module.codec_to_plain`); atomic via a temporary file."""
    config = config or memory.config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": MEMORY_FORMAT,
        "config": dataclasses.asdict(config),
        "state_dict": {k: v.detach().cpu().clone() for k, v in memory.state_dict().items()},
    }
    if codec is not None:
        payload["codec"] = codec
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_memory(path: str | os.PathLike, device: torch.device | str = "cpu") -> Memory:
    """The memory saved at `path`, in eval mode. Loads with `weights_only=True` (no pickle code)."""
    payload = _load_payload(path, device)
    memory = Memory(MemoryConfig(**payload["config"]))
    memory.load_state_dict(payload["state_dict"])
    return memory.to(device).eval()


def load_codec(path: str | os.PathLike) -> dict | None:
    """The target codec recorded with the memory at `path` (None in older files)."""
    return _load_payload(path, "cpu").get("codec")


def _load_payload(path: str | os.PathLike, device: torch.device | str) -> dict:
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
    return payload
