"""IndRNN (Li et al., "Independently Recurrent Neural Network", CVPR 2018): each unit keeps its
own state with one recurrent weight, h_t = σ(W x_t + b + u ⊙ h_{t-1}). POPGym ranks it best
on Autoencode Medium/Hard and RepeatFirst Hard.

σ here is a hard tanh (the state stays in [-1, 1]), not the paper's relu: with u near 1 a relu
unit adds up its input's constant and noise for as long as the episode lasts. On T-Maze-1000
such units reached |h| ≈ 300 by the junction while the cue's units stayed near 1, the
predictor was swamped, and the memory never learned the maze; bounded, it does
(docs/results.md §8)."""

from __future__ import annotations

import torch
from torch import nn

from memup_module.cells.base import State, input_map, stepped_sequence


class IndRNNMemoryCell(nn.Module):
    """One IndRNN layer; state (h,) in [-1, 1]. |u| is clipped to 1 where it is used."""

    state_keys = ("h",)

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih_l0, self.bias_ih_l0 = input_map(input_size, hidden_size)
        # u = sigmoid(logit(U(0, 1)) + forget_bias): the forget bias skews units toward keeping
        # their state (u near 1) as it skews the LSTM's forget gate, and leaves some short ones.
        uniform = torch.rand(hidden_size).clamp(1e-4, 1 - 1e-4)
        self.weight_hh_l0 = nn.Parameter(torch.sigmoid(torch.logit(uniform) + forget_bias))

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def input_bias(self) -> torch.Tensor:
        return self.bias_ih_l0

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        recurrent = self.weight_hh_l0.clamp(-1.0, 1.0)
        h = (from_x.float() + recurrent * state[0]).clamp(-1.0, 1.0)
        return h, (h,)

    def sequence(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        return stepped_sequence(self, inputs, state)
