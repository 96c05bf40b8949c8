"""Detector warm-up: fit d_ψ(f | c) on the first episodes before any slot is scored.

The junction of a T-Maze-L is one step in L: drawn uniformly, a batch of 4096 steps at
L = 10 000 holds no junction more often than one, and the first slots got the wrong U_t. The
warm-up therefore takes the exact full-batch loss over every step of the episodes, computed on
the distinct (context, target class) pairs weighted by how often each occurs; only when there
are more distinct pairs than `max_rows` (continuous contexts) does it fall back to drawing
`max_rows` steps uniformly per update.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from learner.memup.prepared import EpisodeBatch
from memup_module import Detector, nll_per_entry


def _distinct_rows(batch: EpisodeBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    steps = torch.arange(batch.num_steps, device=batch.x.device)
    live = (steps.unsqueeze(0) < batch.lengths.unsqueeze(1)).flatten()
    rows = torch.cat([batch.context.flatten(0, 1)[live],
                      batch.classes.flatten()[live].unsqueeze(1).to(batch.context.dtype)], 1)
    distinct, counts = torch.unique(rows, dim=0, return_counts=True)
    return distinct[:, :-1], distinct[:, -1].long(), counts.to(batch.context.dtype)


def warm_up_detector(
    detector: Detector,
    optimizer: torch.optim.Optimizer,
    batch: EpisodeBatch,
    updates: int,
    max_rows: int,
    generator: torch.Generator,
    autocast: Callable[[], contextlib.AbstractContextManager],
) -> None:
    """`updates` optimiser steps of the detector's NLL over all steps of `batch`."""
    if updates == 0:
        return
    context, classes, counts = _distinct_rows(batch)
    everything = torch.ones(len(classes), dtype=torch.bool, device=classes.device)
    for _ in range(updates):
        if len(classes) <= max_rows:
            rows, weights = slice(None), counts / counts.sum()
        else:
            draw = torch.multinomial(counts.cpu(), max_rows, replacement=True, generator=generator)
            rows = draw.to(classes.device)
            weights = torch.full((max_rows,), 1.0 / max_rows, device=classes.device)
        with autocast():
            nll = nll_per_entry(detector(context[rows]), classes[rows], everything[rows])
        optimizer.zero_grad(set_to_none=True)
        (nll * weights).sum().backward()
        optimizer.step()
