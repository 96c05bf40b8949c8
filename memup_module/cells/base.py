"""What a memory cell gives `memup_module.Memory` (docs/design.md §6): any recurrence whose
input enters through one linear map fits.

    from_x = inputs @ cell.weight_ih_l0.T + cell.input_bias()      # [B, P]
    h, state = cell.step(from_x, state)                              # one step
    m, state = cell.sequence(inputs, state)                          # [B, T, I] -> [B, T, H]

The split lets `Memory` precompute the observation's share of `from_x` for a whole chunk of
steps (`Memory.precompute`) and add only a_{t-1}'s column and r_{t-1} per step. The state is a
tuple of [B, size] tensors, one per name in `state_keys`: RLlib carries each as a column of
STATE_IN/STATE_OUT between fragments, and a zero state is every cell's start of an episode.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

State = tuple[torch.Tensor, ...]
"""The cell's state parts, each [B, size] (batch first, like RLlib's state)."""


class MemoryCell(Protocol):
    """The recurrence inside `Memory`; an `nn.Module` whose input map is `weight_ih_l0`."""

    state_keys: tuple[str, ...]
    """Names of the state parts ("h", "c", ...): STATE_IN/STATE_OUT keys in the RLModule."""
    hidden_size: int
    """Size H of the output m_t."""
    weight_ih_l0: torch.nn.Parameter
    """[P, I]: the linear map of x_t into the cell."""

    def state_sizes(self) -> tuple[int, ...]:
        """Width of each state part, in `state_keys` order."""
        ...

    def input_bias(self) -> torch.Tensor:
        """[P]: the bias added with x W_ihᵀ."""
        ...

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step from the projected input [B, P] -> (m_t [B, H], state)."""
        ...

    def sequence(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """inputs [B, T, I] from `state` -> (m [B, T, H], state after step T-1)."""
        ...


def zero_state(cell: MemoryCell, batch_size: int, device: torch.device | str) -> State:
    """Every cell's state at the start of an episode."""
    return tuple(torch.zeros(batch_size, size, device=device) for size in cell.state_sizes())


def input_map(input_size: int, width: int) -> tuple[torch.nn.Parameter, torch.nn.Parameter]:
    """A cell's `weight_ih_l0` [width, input_size] (nn.Linear's uniform init) and zero bias."""
    bound = 1.0 / math.sqrt(input_size)
    weight = torch.nn.Parameter(torch.empty(width, input_size).uniform_(-bound, bound))
    return weight, torch.nn.Parameter(torch.zeros(width))


def stepped_sequence(cell: MemoryCell, inputs: torch.Tensor,
                     state: State) -> tuple[torch.Tensor, State]:
    """`sequence` for a cell without a fused kernel: project every step at once, then step,
    in fp32 even under autocast (a bf16 state drifts over long episodes)."""
    with torch.autocast(inputs.device.type, enabled=False):
        from_x = torch.nn.functional.linear(inputs.float(), cell.weight_ih_l0,
                                            cell.input_bias())
        state = tuple(part.float() for part in state)
        outputs = []
        for t in range(inputs.shape[1]):
            h, state = cell.step(from_x[:, t], state)
            outputs.append(h)
    return torch.stack(outputs, dim=1), state
