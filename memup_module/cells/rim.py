"""Recurrent Independent Mechanisms (Goyal et al., "Recurrent Independent Mechanisms", ICLR
2021; Madan et al., "Fast and Slow Learning of RIMs", ICLR 2021): the memory state is split
into K mechanisms, each a small GRU. At every step the mechanisms compete to read the input;
only the `active` ones that attend to it most (rather than to a null input) update, the others
keep their state untouched, which lets a mechanism hold a cue through thousands of steps of
irrelevant input. The active ones also read from all mechanisms through attention.

Communication here feeds the GRU's gates (what a mechanism reads from the others' previous
states joins its input) instead of being added to the new state as in the paper's LSTM
version: added to a GRU's persistent state it compounds, and the state overflowed to NaN
within 300 steps at initialisation. As a GRU input it keeps every state in [-1, 1].

The packaged `rim-pytorch` (0.0.25) is a depth-less transformer variant that carries no
recurrent state step by step, so the cell is written here.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from memup_module.cells.base import State, input_map, stepped_sequence

MECHANISMS = 4
"""K: the memory state of H units is K mechanisms of H / K units each."""
ACTIVE = 2
"""Mechanisms that read the input and update at each step."""
KEY_SIZE = 32
"""Width of the attention keys and queries (input and communication)."""


def check_hidden_size(hidden_size: int) -> None:
    """The state splits evenly into the mechanisms (checked at config load, too)."""
    if hidden_size % MECHANISMS:
        raise ValueError(f"memory.hidden_size must be a multiple of {MECHANISMS} for the rim "
                         f"cell ({MECHANISMS} mechanisms), got {hidden_size}")


class RIMMemoryCell(nn.Module):
    """RIM over K GRU mechanisms; state (h,) with h [B, H] = K blocks of H / K.

    The input map `weight_ih_l0` gives the input's attention key and value at once
    (P = KEY_SIZE + H / K); the null input has key and value 0.
    """

    state_keys = ("h",)

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float) -> None:
        super().__init__()
        check_hidden_size(hidden_size)
        self.hidden_size = hidden_size
        block = hidden_size // MECHANISMS
        self._block = block

        def uniform(*shape: int, fan_in: int) -> nn.Parameter:
            bound = 1.0 / math.sqrt(fan_in)
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        # Input attention: key and value of x_t in one linear map; a query per mechanism.
        self.weight_ih_l0, self.bias_ih_l0 = input_map(input_size, KEY_SIZE + block)
        self.query = uniform(MECHANISMS, block, KEY_SIZE, fan_in=block)
        # Each mechanism's own GRU (gates r, z, n), batched over the mechanisms.
        self.gru_ih = uniform(MECHANISMS, 3 * block, block, fan_in=block)
        self.gru_hh = uniform(MECHANISMS, 3 * block, block, fan_in=block)
        self.gru_bias_ih = nn.Parameter(torch.zeros(MECHANISMS, 3 * block))
        self.gru_bias_hh = nn.Parameter(torch.zeros(MECHANISMS, 3 * block))
        with torch.no_grad():  # the update gate starts closed: a mechanism keeps its state
            self.gru_bias_ih[:, block:2 * block] += forget_bias
        # Communication: each mechanism attends over all of them (shared query and key); what
        # it reads enters its GRU's gates through its own map.
        self.comm_query = uniform(block, KEY_SIZE, fan_in=block)
        self.comm_key = uniform(block, KEY_SIZE, fan_in=block)
        self.comm_to_gates = uniform(MECHANISMS, 3 * block, block, fan_in=block)

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def input_bias(self) -> torch.Tensor:
        return self.bias_ih_l0

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        # fp32 throughout: under bf16 autocast the attention scores could pick other mechanisms.
        with torch.autocast(from_x.device.type, enabled=False):
            return self._step(from_x.float(), state[0].float())

    def _step(self, from_x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, State]:
        h = h.reshape(-1, MECHANISMS, self._block)
        key, value = from_x[:, :KEY_SIZE], from_x[:, KEY_SIZE:]
        # Attention of each mechanism to x_t against the null input (score 0).
        score = torch.einsum("bkd,kdc,bc->bk", h, self.query, key) / math.sqrt(KEY_SIZE)
        attention = torch.sigmoid(score)
        active = torch.zeros_like(attention).scatter_(
            1, attention.topk(ACTIVE, dim=1).indices, 1.0).unsqueeze(-1)
        # What each mechanism reads from the others' previous states.
        weights = torch.softmax((h @ self.comm_query) @ (h @ self.comm_key).transpose(1, 2)
                                / math.sqrt(KEY_SIZE), dim=-1)
        read = weights @ h
        # Each mechanism's GRU on its attended share of the input value and what it read.
        from_value = torch.einsum("bv,kgv->bkg", value, self.gru_ih)
        gates_x = (attention.unsqueeze(-1) * from_value
                   + torch.einsum("bkd,kgd->bkg", read, self.comm_to_gates) + self.gru_bias_ih)
        gates_h = torch.einsum("bkd,kgd->bkg", h, self.gru_hh) + self.gru_bias_hh
        x_r, x_z, x_n = gates_x.chunk(3, dim=-1)
        h_r, h_z, h_n = gates_h.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        updated = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
        h = active * updated + (1 - active) * h
        flat = h.reshape(-1, self.hidden_size)
        return flat, (flat,)

    def sequence(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        return stepped_sequence(self, inputs, state)
