"""The policy's greedy step, split into what depends on the past and what does not.

    stepper = GreedyStepper(module)
    pending = stepper.precompute(obs)                # obs [K, N, obs_dim]: a chunk of time
    state, actions = stepper.initial_state(N), None
    for k in range(K):
        actions, m, state = stepper.step(pending, k, actions, state)

The memory's input is x_t = [ReLU(enc(o_t)), one_hot(a_{t-1}), r_{t-1}] and the policy head
reads [m_t, o_t]; whenever o_t is known ahead (the T-Maze corridor does not depend on the
actions), everything that reads only o_t — the memory's encoder and its share of the input
gates, the head's obs encoder and its share of the first layer — is one large matmul per chunk
of K steps instead of K small ones. What is left per step is the recurrent matmul h W_hh, a row
of W_ih picked by the previous action, the gate arithmetic and the head on m_t.

It computes the module's own functions with the module's own weights; only the summation order
of each gate's pre-activation differs (float rounding, ~1e-7). r_{t-1} is taken to be zero: it
is for every step of a T-Maze episode, whose only reward ends it.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from memup_module.memory import State
from memup_module.rl_module import MemUPPolicyModule


@dataclasses.dataclass(frozen=True)
class Pending:
    """The o_t-only parts of a chunk of K steps."""

    gates: torch.Tensor  # [K, N, G·H]: enc(o_t) W_ih[:, :E]ᵀ + b_ih (+ b_hh for the LSTM)
    head: torch.Tensor  # [K, N, W]: the head's first layer on its obs part, bias included


class GreedyStepper:
    """One module's greedy policy, step by step, from precomputed observation terms."""

    def __init__(self, module: MemUPPolicyModule) -> None:
        memory, head = module.memory, module.policy_head
        config = memory.config
        self._lstm = config.cell == "lstm"
        self._hidden = config.hidden_size
        self._num_actions = config.num_actions
        rnn = memory.rnn
        encoder_size = memory.encoder.out_features
        w_ih = rnn.weight_ih_l0.detach()
        self._encoder = memory.encoder
        self._w_ih_obs = w_ih[:, :encoder_size]
        # Row `num_actions` is the zero input of the first step, which has no a_{t-1}.
        action_rows = w_ih[:, encoder_size:encoder_size + config.num_actions].t()
        self._action_rows = torch.cat([action_rows, action_rows.new_zeros(1, w_ih.shape[0])])
        self._w_hh_t = rnn.weight_hh_l0.detach().t().contiguous()
        self._b_ih, self._b_hh = rnn.bias_ih_l0.detach(), rnn.bias_hh_l0.detach()
        first, *rest = [layer for layer in head.mlp]
        assert isinstance(first, nn.Linear)
        self._head_obs_encoder = head.obs_encoder
        self._w_head_m_t = first.weight.detach()[:, :head.memory_size].t().contiguous()
        self._w_head_obs = first.weight.detach()[:, head.memory_size:]
        self._b_head = first.bias.detach()
        self._head_rest = nn.Sequential(*rest)

    def initial_state(self, episodes: int, device: torch.device | str = "cpu") -> State:
        parts = 2 if self._lstm else 1
        return tuple(torch.zeros(episodes, self._hidden, device=device) for _ in range(parts))

    @torch.no_grad()
    def precompute(self, obs: torch.Tensor) -> Pending:
        """The o_t-only terms of a chunk obs [K, N, obs_dim]."""
        encoded = torch.relu(self._encoder(obs))
        gates = nn.functional.linear(encoded, self._w_ih_obs, self._b_ih)
        if self._lstm:  # the GRU keeps b_hh inside r ⊙ (h W_hn + b_hn)
            gates += self._b_hh
        head = nn.functional.linear(self._head_obs_encoder(obs), self._w_head_obs, self._b_head)
        return Pending(gates, head)

    @torch.no_grad()
    def step(self, pending: Pending, k: int, previous: torch.Tensor | None,
             state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """(greedy actions [N], m_t [N, H], state) at step k of the chunk, after actions
        `previous` (None at an episode's first step)."""
        from_x = pending.gates[k]
        if previous is not None:
            from_x = from_x + self._action_rows[previous]
        h = state[0]
        if self._lstm:
            i, f, g, o = torch.addmm(from_x, h, self._w_hh_t).chunk(4, dim=-1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            new_state: State = (h, c)
        else:
            from_h = torch.addmm(self._b_hh, h, self._w_hh_t)
            x_r, x_z, x_n = from_x.chunk(3, dim=-1)
            h_r, h_z, h_n = from_h.chunk(3, dim=-1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
            new_state = (h,)
        hidden = torch.addmm(pending.head[k], h, self._w_head_m_t)
        logits = self._head_rest(hidden)
        return logits.argmax(-1), h, new_state
