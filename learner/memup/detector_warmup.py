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
from collections.abc import Callable, Sequence

import numpy as np
import torch

from learner.memup.inputs.columns import EpisodeColumns
from memup_module import Detector, nll_per_entry


def _merge(distinct: torch.Tensor | None, counts: torch.Tensor | None, rows: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct rows (sorted) and their counts of what was seen so far plus `rows`."""
    new, new_counts = torch.unique(rows, dim=0, return_counts=True)
    if distinct is None:
        return new, new_counts
    merged, inverse = torch.unique(torch.cat([distinct, new]), dim=0, return_inverse=True)
    total = torch.zeros(len(merged), dtype=counts.dtype, device=counts.device)
    return merged, total.index_add_(0, inverse, torch.cat([counts, new_counts]))


def distinct_rows(episodes: Sequence[EpisodeColumns], device: torch.device,
                  part_steps: int = 4096) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(distinct contexts, their target classes, how many steps have each pair) over every
    step of `episodes`, read `part_steps` steps at a time (bounded memory at any T)."""
    distinct = counts = None
    for episode in episodes:
        for start in range(0, episode.length, part_steps):
            stop = min(start + part_steps, episode.length)
            rows = np.concatenate([episode.context(start, stop),
                                   episode.classes[start:stop, None].astype(np.float32)], 1)
            distinct, counts = _merge(distinct, counts, torch.from_numpy(rows).to(device))
    return distinct[:, :-1], distinct[:, -1].long(), counts.to(distinct.dtype)


def warm_up_detector(
    detector: Detector,
    optimizer: torch.optim.Optimizer,
    distinct: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    updates: int,
    max_rows: int,
    generator: torch.Generator,
    autocast: Callable[[], contextlib.AbstractContextManager],
) -> None:
    """`updates` optimiser steps of the detector's NLL over all steps whose distinct
    (context, class, count) rows `distinct_rows` found."""
    if updates == 0:
        return
    context, classes, counts = distinct
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
