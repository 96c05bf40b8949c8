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


def load_memory(path: str | os.PathLike, device: torch.device | str = "cpu",
                expect_cell: str | None = None) -> Memory:
    """The memory saved at `path`, in eval mode. Loads with `weights_only=True` (no pickle code).
    `expect_cell`: refuse, saying what to do, a memory of another cell."""
    payload = _load_payload(path, device)
    saved = payload.get("config")
    found = saved.get("cell") if isinstance(saved, dict) else None
    if expect_cell is not None and found != expect_cell:
        raise ValueError(
            f"{path} holds a memory with cell {found!r}, but this run's memory.cell is "
            f"{expect_cell!r}: pass a memory trained with {expect_cell!r}, or set "
            f"`memup: {{memory: {{cell: {found}}}}}` in the preset")
    try:
        memory = Memory(MemoryConfig(**payload["config"]))
        memory.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        detail = " ".join(str(error).split())[:200]
        raise ValueError(
            f"{path} is a {MEMORY_FORMAT} file whose architecture or weights do not build a "
            f"memory ({error.__class__.__name__}: {detail}): it is damaged or from another "
            f"version; {_REMEDY}"
        ) from None
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
    except Exception as error:  # noqa: BLE001 - whatever torch raises, said in our words
        # torch's own message suggests loading with weights_only=False, which would run code
        # from the file: never pass it on, nor chain it into a traceback.
        raise ValueError(f"{path} is not a {MEMORY_FORMAT} memory file (it does not load as "
                         f"plain tensors: {_why(error)}); {_REMEDY}") from None
    found = payload.get("format") if isinstance(payload, dict) else None
    if found != MEMORY_FORMAT:
        raise ValueError(f"{path} is not a {MEMORY_FORMAT} memory file (format is {found!r}); "
                         f"{_REMEDY}")
    return payload


_REMEDY = ("pass the memory.pt that `memup pretrain` wrote (RUN_DIR/memup/memory.pt), or export "
           "one with memup_module.save_memory or MemUPLearner.export_memory")


def _why(error: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, without torch's advice."""
    if isinstance(error, OSError):
        return f"it cannot be read ({error.strerror or error.__class__.__name__})"
    if "Unsupported global" in str(error):
        return "it holds pickled Python objects, not only tensors (such files are never loaded)"
    return "it is corrupt, truncated or not a torch file"
