"""LSTM and GRU memory cells: torch's `nn.LSTM`/`nn.GRU` (their fused sequence kernels, their
parameter names, so memory files keep loading) with the step math written out once."""

from __future__ import annotations

import torch
from torch import nn

from memup_module.cells.base import State


class _TorchRNN:
    """What the LSTM and the GRU cells share; mixed into `nn.LSTM` / `nn.GRU`."""

    state_keys: tuple[str, ...]

    def _init_gate_bias(self, bias: float | torch.Tensor) -> None:
        # Gate rows [H, 2H) are the LSTM's forget gate and the GRU's update gate alike.
        with torch.no_grad():
            self.bias_ih_l0[self.hidden_size:2 * self.hidden_size] += bias

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,) * len(self.state_keys)

    def sequence(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        # The recurrence stays fp32 under autocast: a bf16 cell state (8-bit mantissa) drifts
        # over thousands of steps, and cuDNN runs bf16 RNNs only from version 9.13 on.
        # nn.LSTM/GRU want [layers, B, H] states; the public state stays [B, H].
        with torch.autocast(inputs.device.type, enabled=False):
            layered = tuple(s.unsqueeze(0).float() for s in state)
            rnn_state = layered if len(layered) == 2 else layered[0]
            m, new_state = self.forward(inputs.float(), rnn_state)
        if not isinstance(new_state, tuple):
            new_state = (new_state,)
        return m, tuple(s.squeeze(0) for s in new_state)


class LSTMMemoryCell(_TorchRNN, nn.LSTM):
    """`nn.LSTM`, one layer, batch first; state (h, c)."""

    state_keys = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float) -> None:
        nn.LSTM.__init__(self, input_size, hidden_size, batch_first=True)
        self._init_gate_bias(forget_bias)

    def input_bias(self) -> torch.Tensor:
        # The LSTM's b_hh only ever adds to b_ih.
        return self.bias_ih_l0 + self.bias_hh_l0

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Under bf16 autocast the matmul drops to bf16; the gate arithmetic and c stay fp32."""
        h, c = state
        gates = torch.addmm(from_x.float(), h, self.weight_hh_l0.t()).float()
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class GRUMemoryCell(_TorchRNN, nn.GRU):
    """`nn.GRU`, one layer, batch first; state (h,)."""

    state_keys = ("h",)

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float) -> None:
        nn.GRU.__init__(self, input_size, hidden_size, batch_first=True)
        # One gate both keeps h and shuts out the input: the full bias on every unit (z ≈ 0.993
        # at 5) let the memory write almost nothing (RepeatFirstMedium: gain 0.007 nats against
        # the LSTM's 0.540). Spread from 0 to forget_bias, units range from writing freely to
        # keeping for ~e^forget_bias steps (docs/results.md §8).
        self._init_gate_bias(torch.linspace(0.0, forget_bias, hidden_size))

    def input_bias(self) -> torch.Tensor:
        # b_hn stays inside r ⊙ (h W_hnᵀ + b_hn).
        return self.bias_ih_l0

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        h = state[0]
        from_h = torch.addmm(self.bias_hh_l0, h, self.weight_hh_l0.t()).float()
        x_r, x_z, x_n = from_x.float().chunk(3, dim=-1)
        h_r, h_z, h_n = from_h.chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
        return h, (h,)
