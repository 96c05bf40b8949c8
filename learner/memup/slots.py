"""B training slots, each holding one episode and a cursor, in preallocated [B, T_max] tensors.

An update reads the next r steps of every slot with a handful of flat gathers (no Python loop
over slots). Steps past a slot's episode end come back with `valid = False`; the trainer masks
them out of every loss and refills the slot before the next update.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from learner.memup.loader import ScoredEpisode

_CAPACITY_QUANTUM = 256


@dataclasses.dataclass(frozen=True)
class Rollout:
    """The next r steps of B slots and, for each, its prediction targets U_t."""

    x: torch.Tensor  # [B, r, x_dim] memory inputs
    valid: torch.Tensor  # [B, r] bool: a real step of a live episode
    context: torch.Tensor  # [B, r, F] context of step t (detector input)
    classes: torch.Tensor  # [B, r] class of f_t
    target_context: torch.Tensor  # [B, r, K1, F] context of every k in U_t
    target_classes: torch.Tensor  # [B, r, K1] class of f_k
    target_valid: torch.Tensor  # [B, r, K1] bool


class SlotBuffer:
    """Episode storage of the B slots; grows (never shrinks) to the longest episode seen."""

    def __init__(self, num_slots: int, x_dim: int, context_dim: int, targets_per_step: int,
                 device: torch.device) -> None:
        self.num_slots, self.device = num_slots, device
        self._dims = (x_dim, context_dim, targets_per_step)
        self.lengths = np.zeros(num_slots, np.int64)
        self.cursors = np.zeros(num_slots, np.int64)
        self._allocate(0)

    def _allocate(self, capacity: int) -> None:
        x_dim, context_dim, k1 = self._dims
        b, dev = self.num_slots, self.device
        self.capacity = capacity
        self.x = torch.zeros(b, capacity, x_dim, device=dev)
        self.context = torch.zeros(b, capacity, context_dim, device=dev)
        self.classes = torch.zeros(b, capacity, dtype=torch.long, device=dev)
        self.targets = torch.zeros(b, capacity, k1, dtype=torch.long, device=dev)
        self.target_valid = torch.zeros(b, capacity, k1, dtype=torch.bool, device=dev)

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"x": self.x, "context": self.context, "classes": self.classes,
                "targets": self.targets, "target_valid": self.target_valid}

    def _grow(self, needed: int) -> None:
        old = self._tensors()
        old_capacity = self.capacity
        self._allocate(-(-needed // _CAPACITY_QUANTUM) * _CAPACITY_QUANTUM)
        for name, tensor in self._tensors().items():
            tensor[:, :old_capacity] = old[name]

    def load(self, slots: np.ndarray, episodes: list[ScoredEpisode]) -> None:
        """Puts `episodes[i]` into slot `slots[i]`, cursor at step 0."""
        longest = max(e.length for e in episodes)
        if longest > self.capacity:
            self._grow(longest)
        for slot, episode in zip(slots.tolist(), episodes):
            steps = slice(0, episode.length)
            self.x[slot, steps] = episode.x
            self.context[slot, steps] = episode.context
            self.classes[slot, steps] = episode.classes
            self.targets[slot, steps] = episode.targets
            self.target_valid[slot, steps] = episode.target_valid
            self.lengths[slot] = episode.length
        self.cursors[slots] = 0

    def finished(self) -> np.ndarray:
        """Indices of slots with no step left (also every slot before the first load)."""
        return np.flatnonzero(self.cursors >= self.lengths)

    def steps_left(self, steps: int) -> int:
        """How many of the next `steps` steps of all slots are real (computed on the host)."""
        return int(np.clip(self.lengths - self.cursors, 0, steps).sum())

    def advance(self, steps: int) -> None:
        self.cursors += steps

    def rollout(self, length: int) -> Rollout:
        """Steps cursor .. cursor + length - 1 of every slot."""
        b, cap = self.num_slots, self.capacity
        t = self.cursors[:, None] + np.arange(length)
        valid = t < self.lengths[:, None]
        row_start = np.arange(b)[:, None] * cap
        flat_t = torch.from_numpy(row_start + np.minimum(t, cap - 1)).to(self.device)
        valid_t = torch.from_numpy(valid).to(self.device)
        k1 = self._dims[2]
        targets = self.targets.view(b * cap, k1)[flat_t]
        target_flat = targets + torch.from_numpy(row_start).to(self.device).unsqueeze(-1)
        context = self.context.view(b * cap, -1)
        return Rollout(
            x=self.x.view(b * cap, -1)[flat_t],
            valid=valid_t,
            context=context[flat_t],
            classes=self.classes.view(-1)[flat_t],
            target_context=context[target_flat],
            target_classes=self.classes.view(-1)[target_flat],
            target_valid=self.target_valid.view(b * cap, k1)[flat_t] & valid_t.unsqueeze(-1),
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Slot contents trimmed to the longest loaded episode (plain tensors)."""
        used = int(self.lengths.max()) if self.num_slots else 0
        state = {name: t[:, :used].cpu().clone() for name, t in self._tensors().items()}
        state["lengths"] = torch.from_numpy(self.lengths.copy())
        state["cursors"] = torch.from_numpy(self.cursors.copy())
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        used = state["x"].shape[1]
        self._allocate(-(-used // _CAPACITY_QUANTUM) * _CAPACITY_QUANTUM if used else 0)
        for name, tensor in self._tensors().items():
            tensor[:, :used] = state[name].to(self.device)
        self.lengths = state["lengths"].cpu().numpy().astype(np.int64)
        self.cursors = state["cursors"].cpu().numpy().astype(np.int64)
