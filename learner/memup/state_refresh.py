"""Slot states recomputed with the current weights (`memup.refresh_states_every`, docs/design.md
§13).

A slot carries its memory state from rollout to rollout while the weights change at every
update in between, so a state that has been carried for thousands of updates is one that no
version of the memory would compute from the episode. Measured at T-Maze-100 000 (4 000
updates, training loss 0.002): the carried states predicted their own slot's junction 64/64,
the same states recomputed from each episode's start 41/64, held-out episodes 9/16. The
networks had fitted each slot's answer to its drifted state, not learned to keep the cue
(docs/results.md §4). Recomputing the states every N updates keeps the loss on what the memory
computes; whether that speeds phase I up is seed-dependent so far (docs/results.md §4).

    state = recomputed_states(memory, slots, state)
"""

from __future__ import annotations

import numpy as np
import torch

from learner.memup.inputs.slots import SlotBuffer
from learner.memup.inputs.streamed_columns import GONE
from memup_module import Memory
from memup_module.cells import State

CHUNK_STEPS = 2048
"""Steps per call of the memory: long enough for its fused kernel, [B, 2048, H] stays small."""


@torch.no_grad()
def recomputed_states(memory: Memory, slots: SlotBuffer, state: State,
                      chunk_steps: int = CHUNK_STEPS) -> State:
    """`state` with each live slot's part replaced by the memory's state after the steps
    [0, cursor) of the slot's episode, run from a zero state with the current weights. Slots at
    step 0, finished ones and those whose streamed episode is gone keep their part."""
    cursors = slots.cursors
    live = [s for s, episode in enumerate(slots.episodes)
            if episode is not None and 0 < cursors[s] < slots.lengths[s]]
    active = sorted(live, key=lambda s: int(cursors[s]))
    refreshed = tuple(part.clone() for part in state)
    device = state[0].device
    running = memory.initial_state(len(active), device)
    position = 0
    while active:
        stop = min(position + chunk_steps, int(cursors[active[0]]))
        inputs, kept = [], []
        for i, slot in enumerate(active):
            try:
                inputs.append(slots.episodes[slot].columns.x(position, stop))
                kept.append(i)
            except GONE:  # evicted under the slot: it keeps its carried state
                pass
        if len(kept) < len(active):
            active = [active[i] for i in kept]
            running = tuple(part[kept] for part in running)
            if not active:
                continue
        x = torch.from_numpy(np.stack(inputs)).to(device)
        _, running = memory(x, running)
        position = stop
        arrived = [i for i, slot in enumerate(active) if cursors[slot] == position]
        for target, part in zip(refreshed, running):
            target[[active[i] for i in arrived]] = part[arrived].to(target.dtype)
        walking = [i for i, slot in enumerate(active) if cursors[slot] > position]
        active = [active[i] for i in walking]
        running = tuple(part[walking] for part in running)
    return refreshed
