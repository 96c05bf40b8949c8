"""Each memory unit at unit scale for the policy's heads (docs/design.md §7).

A memory trained by MemUP can hold what matters in a unit that barely moves: an IndRNN memory
that reads the T-Maze's cue with accuracy 1.0 moves its cue units by ~0.007 between the two
sides, while most units sit at ±1. Its predictor learned weights that scale that up; fresh
heads, trained on one decision per 1 000 steps, do not find it. With `standardize_memory` the
heads read (m − mean) / std per unit, the statistics tracked over the learner's batches.

    norm = MemoryStandardizer(256)
    norm.update(m)          # learner only: m [..., 256] of a train batch
    heads_input = norm(m)   # everywhere (learner, EnvRunners, greedy evaluator)
"""

from __future__ import annotations

import torch
from torch import nn


class MemoryStandardizer(nn.Module):
    """(m − mean) / max(std, min_std) per unit; mean and variance are buffers, so they travel
    with the module's weights to the EnvRunners and into checkpoints."""

    def __init__(self, size: int, momentum: float = 0.01, min_std: float = 1e-3) -> None:
        super().__init__()
        self.momentum, self.min_std = momentum, min_std
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def update(self, m: torch.Tensor) -> None:
        """Moves the statistics toward those of m [..., size]; the first batch sets them."""
        flat = m.detach().reshape(-1, self.mean.shape[0]).float()
        batch_mean, batch_var = flat.mean(0), flat.var(0, unbiased=False)
        rate = 1.0 if int(self.updates) == 0 else self.momentum
        # The variance around the new mean: the old spread, plus the shift of the mean.
        shift = batch_mean - self.mean
        self.var.mul_(1 - rate).add_(rate * batch_var + rate * (1 - rate) * shift * shift)
        self.mean.add_(rate * shift)
        self.updates.add_(1)

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        std = self.var.sqrt().clamp_min(self.min_std)
        return (m - self.mean.to(m.dtype)) / std.to(m.dtype)
