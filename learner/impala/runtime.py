"""The process settings phase II runs under: its torch threads and a Ray session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import ray
import torch


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def ray_session() -> Iterator[None]:
    """The caller's Ray (CLI, tests) or, if none, a local one without dashboard for this call."""
    if ray.is_initialized():
        yield
        return
    ray.init(address="local", include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()
