"""B training slots, each holding one episode and a cursor, and on the device only a window.

A slot's window is the chunk its cursor is in and the next one (`chunk_steps` >= r, so the
next r steps always fit), built from the episode's columns when the cursor needs it, with the
carried targets of both chunks appended to its context rows (`chunk_targets.py`). The buffer
is [B, min(2 x chunk_steps, longest episode)]: its size never depends on the episode length.

An update reads the next r steps of every slot with a handful of flat gathers (no Python loop
over slots). Steps past a slot's episode end come back with `valid = False`; the trainer masks
them out of every loss and refills the slot before the next update.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from learner.memup.inputs.chunk_targets import ChunkTargets, encode_targets
from learner.memup.inputs.columns import EpisodeColumns
from learner.memup.inputs.loader import ScoredEpisode
from learner.memup.inputs.streamed_columns import GONE

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
    target_distance: torch.Tensor  # [B, r, K1] k − t in steps (0 where invalid)


def log_uniform_horizons(lengths: list[int], rollout: int,
                         generator: torch.Generator) -> np.ndarray:
    """Steps each new slot walks (`slot_horizon: log_uniform`): log-uniform in [rollout, its
    episode's length]."""
    low = math.log(rollout)
    high = np.log(np.maximum(np.asarray(lengths, np.float64), rollout))
    u = torch.rand(len(lengths), generator=generator, dtype=torch.float64).numpy()
    return np.ceil(np.exp(low + u * (high - low))).astype(np.int64)


class SlotBuffer:
    """The B slots: their episodes (host) and the device windows the rollouts read."""

    def __init__(self, num_slots: int, x_dim: int, context_dim: int, top_k: int,
                 include_self: bool, chunk_steps: int, device: torch.device) -> None:
        self.num_slots, self.device, self.chunk_steps = num_slots, device, chunk_steps
        self._dims = (x_dim, context_dim, top_k + include_self)
        self._top_k, self._include_self = top_k, include_self
        self.episodes: list[ScoredEpisode | None] = [None] * num_slots
        self.lengths = np.zeros(num_slots, np.int64)  # steps the slot walks (its horizon)
        self.episode_lengths = np.zeros(num_slots, np.int64)  # where its window ends
        self.cursors = np.zeros(num_slots, np.int64)
        self.window_start = np.zeros(num_slots, np.int64)
        self.window_stop = np.zeros(num_slots, np.int64)
        self._allocate(0)

    def _allocate(self, capacity: int) -> None:
        x_dim, context_dim, k1 = self._dims
        b, dev, rows = self.num_slots, self.device, capacity + 2 * self._top_k
        self.capacity = capacity
        self.x = torch.zeros(b, capacity, x_dim, device=dev)
        self.context = torch.zeros(b, rows, context_dim, device=dev)  # window, then carried
        self.classes = torch.zeros(b, rows, dtype=torch.long, device=dev)
        self.targets = torch.zeros(b, capacity, k1, dtype=torch.long, device=dev)  # rows
        self.target_valid = torch.zeros(b, capacity, k1, dtype=torch.bool, device=dev)
        self.target_distance = torch.zeros(b, capacity, k1, device=dev)
        self.window_stop[:] = self.window_start  # every window must be built again

    def load(self, slots: np.ndarray, episodes: list[ScoredEpisode],
             horizons: np.ndarray | None = None) -> None:
        """Puts `episodes[i]` into slot `slots[i]`, cursor at step 0 (window built lazily).
        With `horizons`, slot `slots[i]` finishes after `horizons[i]` steps (U_t still looks
        up to the episode's end)."""
        for i, (slot, episode) in enumerate(zip(slots.tolist(), episodes)):
            self.episodes[slot] = episode
            self.episode_lengths[slot] = episode.length
            limit = episode.length if horizons is None else int(horizons[i])
            self.lengths[slot] = min(episode.length, limit)
        self.cursors[slots] = 0
        self.window_start[slots] = self.window_stop[slots] = 0

    def finished(self) -> np.ndarray:
        """Indices of slots with no step left (also every slot before the first load)."""
        return np.flatnonzero(self.cursors >= self.lengths)

    def steps_left(self, steps: int) -> int:
        """How many of the next `steps` steps of all slots are real (computed on the host)."""
        return int(np.clip(self.lengths - self.cursors, 0, steps).sum())

    def advance(self, steps: int) -> None:
        self.cursors += steps

    def _window(self, slot: int) -> None:
        """Builds slot `slot`'s window: the chunk of its cursor and the next one."""
        episode, chunk = self.episodes[slot], self.chunk_steps
        start, stop = self._bounds(slot)
        n, cap, columns, targets = stop - start, self.capacity, episode.columns, episode.targets
        to = self._to_device
        self.x[slot, :n] = to(columns.x(start, stop))
        self.context[slot, :n] = to(columns.context(start, stop))
        self.classes[slot, :n] = to(columns.classes[start:stop].astype(np.int64))
        first = start // chunk
        carried = slice(first, min(first + 2, len(targets.carry_index)))
        count = (carried.stop - carried.start) * self._top_k
        self.context[slot, cap:cap + count] = to(targets.carry_context[carried].reshape(count, -1))
        self.classes[slot, cap:cap + count] = to(targets.carry_classes[carried].reshape(-1))
        rows, valid, index = targets.resolve(start, stop, cap)
        steps = np.arange(start, stop)
        distance = (index - steps[:, None]).astype(np.float32)  # 0 where invalid
        if self._include_self:  # t itself, unless already among the top K (U_t is a set)
            duplicate = ((index == steps[:, None]) & valid).any(-1, keepdims=True)
            rows = np.concatenate([rows, (steps - start)[:, None]], 1)
            valid = np.concatenate([valid, ~duplicate], 1)
            distance = np.concatenate([distance, np.zeros((n, 1), np.float32)], 1)
        self.targets[slot, :n] = to(rows)
        self.target_valid[slot, :n] = to(valid)
        self.target_distance[slot, :n] = to(distance)
        self.window_start[slot], self.window_stop[slot] = start, stop

    def _bounds(self, slot: int) -> tuple[int, int]:
        chunk = self.chunk_steps
        start = int(self.cursors[slot]) // chunk * chunk
        return start, min(start + 2 * chunk, int(self.episode_lengths[slot]))

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def _ensure_windows(self, length: int) -> None:
        live = self.cursors < self.lengths
        outside = (self.cursors < self.window_start) | (
            (self.cursors + length > self.window_stop) & (self.window_stop < self.lengths))
        stale = np.flatnonzero(live & outside).tolist()
        needed = max((np.subtract(*self._bounds(s)[::-1]) for s in stale), default=0)
        if needed > self.capacity:  # grow first: growing drops every window
            quantized = -(-needed // _CAPACITY_QUANTUM) * _CAPACITY_QUANTUM
            self._allocate(min(quantized, 2 * self.chunk_steps))
            stale = np.flatnonzero(live).tolist()
        for slot in stale:
            try:
                self._window(slot)
            except GONE:  # a streamed episode evicted (or quarantined) under the slot:
                self.lengths[slot] = self.cursors[slot]  # it ends here, the slot is refilled

    def rollout(self, length: int) -> Rollout:
        """Steps cursor .. cursor + length - 1 of every slot (length <= chunk_steps)."""
        if length > self.chunk_steps:
            raise ValueError(f"a rollout of {length} steps needs chunk_steps >= {length}")
        self._ensure_windows(length)
        b, cap = self.num_slots, self.capacity
        rows = cap + 2 * self._top_k
        t = self.cursors[:, None] + np.arange(length)
        valid = t < self.lengths[:, None]
        offset = np.clip(t - self.window_start[:, None], 0, max(cap - 1, 0))
        flat_t = torch.from_numpy(np.arange(b)[:, None] * cap + offset).to(self.device)
        flat_row = torch.from_numpy(np.arange(b)[:, None] * rows + offset).to(self.device)
        valid_t = torch.from_numpy(valid).to(self.device)
        k1 = self._dims[2]
        targets = self.targets.view(b * cap, k1)[flat_t]
        target_flat = targets + torch.from_numpy(np.arange(b)[:, None] * rows).to(
            self.device).unsqueeze(-1)
        context = self.context.view(b * rows, -1)
        return Rollout(
            x=self.x.view(b * cap, -1)[flat_t],
            valid=valid_t,
            context=context[flat_row],
            classes=self.classes.view(-1)[flat_row],
            target_context=context[target_flat],
            target_classes=self.classes.view(-1)[target_flat],
            target_valid=self.target_valid.view(b * cap, k1)[flat_t] & valid_t.unsqueeze(-1),
            target_distance=self.target_distance.view(b * cap, k1)[flat_t],
        )

    def nbytes(self) -> int:
        """Bytes the buffer itself holds: device windows and the slots' compact targets (the
        episodes' raw columns belong to whoever sampled them)."""
        windows = sum(t.numel() * t.element_size() for t in (
            self.x, self.context, self.classes, self.targets, self.target_valid,
            self.target_distance))
        return windows + sum(e.targets.nbytes + e.columns.classes.nbytes
                             for e in self.episodes if e is not None)

    def state_dict(self) -> dict:
        """Each slot's episode (columns, whole, and compact targets), cursors (plain
        arrays/tensors); the windows are rebuilt from them. A slot whose streamed episode was
        evicted is saved empty and finished, so that a resumed run refills it."""
        slots, lengths = [], self.lengths.copy()
        for slot, e in enumerate(self.episodes):
            try:
                obs, action, reward = (None,) * 3 if e is None else e.columns.arrays()
            except GONE:
                slots.append(None)
                lengths[slot] = self.cursors[slot]
                continue
            slots.append(None if e is None else {
                "obs": obs, "action": action, "reward": reward,
                "classes": e.columns.classes, "num_actions": e.columns.num_actions,
                "chunk_steps": e.targets.chunk_steps, **e.targets.state()})
        return {"episodes": [None if s is None else {k: _plain(v) for k, v in s.items()}
                             for s in slots],
                "lengths": torch.from_numpy(lengths),
                "cursors": torch.from_numpy(self.cursors.copy())}

    def load_state_dict(self, state: dict) -> None:
        episodes: list[ScoredEpisode | None] = []
        for saved in state["episodes"]:
            if saved is None:
                episodes.append(None)
                continue
            a = {k: v.numpy() if torch.is_tensor(v) else v for k, v in saved.items()}
            columns = EpisodeColumns(a["obs"], a["action"], a["reward"], a["classes"],
                                     int(a["num_actions"]))
            targets = ChunkTargets(int(a["chunk_steps"]), a["codes"].astype(np.uint16),
                                   a["carry_index"], a["carry_context"], a["carry_classes"])
            if targets.chunk_steps != self.chunk_steps:  # resumed with another chunk size
                _, valid, index = targets.resolve(0, columns.length, 0)
                targets = encode_targets(columns, index, valid, self.chunk_steps)
            episodes.append(ScoredEpisode(columns, targets))
        self.episodes = episodes
        self.episode_lengths = np.array([0 if e is None else e.length for e in episodes],
                                        np.int64)
        self.lengths = state["lengths"].cpu().numpy().astype(np.int64)
        self.cursors = state["cursors"].cpu().numpy().astype(np.int64)
        self.window_start[:] = self.window_stop[:] = 0


def _plain(value):
    """numpy -> tensor so that checkpoints load with weights_only=True."""
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint16:  # torch has no uint16 before 2.3's limited support
            value = value.astype(np.int32)
        return torch.from_numpy(np.ascontiguousarray(value))
    return value
