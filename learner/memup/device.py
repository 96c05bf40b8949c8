"""Where phase I runs: the torch device and how many cores it may use."""

from __future__ import annotations

import os

import torch


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when present, else CPU."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError('device "cuda" was asked for but torch sees no GPU: use "auto" or "cpu"')
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
