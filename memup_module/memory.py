"""The recurrent memory g_θ, shared by phase I (MemUP) and phase II (the RLlib module)."""

from __future__ import annotations

import torch
from torch import nn

from memup_module.config import MemoryConfig

State = tuple[torch.Tensor, ...]
"""(h, c) of an LSTM or (h,) of a GRU, each [B, H] (batch first, like RLlib's state)."""


class Memory(nn.Module):
    """m_t = g_θ(m_{t-1}, x_t) with x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] (docs/design.md §3, §6).

    A plain module over batch-first tensors with an explicit state tuple, so the same class runs
    in the MemUP learner and inside an RLModule:

        memory = Memory(MemoryConfig())
        m, state = memory(x)                # x [B, T, 6] -> m [B, T, 256], state from zeros
        m2, state = memory(x_next, state)   # continues where the first call stopped
    """

    def __init__(self, config: MemoryConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = nn.Linear(config.obs_dim, config.encoder_size)
        cell = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = cell(config.encoder_size + config.num_actions + 1, config.hidden_size,
                        batch_first=True)
        # Gate rows [H, 2H) are the LSTM's forget gate and the GRU's update gate alike.
        with torch.no_grad():
            self.rnn.bias_ih_l0[config.hidden_size:2 * config.hidden_size] += config.forget_bias

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None
    ) -> State:
        """The zero state of `batch_size` sequences."""
        if device is None:
            device = self.encoder.weight.device
        parts = 2 if self.config.cell == "lstm" else 1
        return tuple(
            torch.zeros(batch_size, self.config.hidden_size, device=device) for _ in range(parts)
        )

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """x [B, T, obs_dim + num_actions + 1] -> (m [B, T, H], state after step T-1)."""
        if x.dim() != 3 or x.shape[-1] != self.config.input_size:
            raise ValueError(
                f"memory input must be [B, T, {self.config.input_size}], got {tuple(x.shape)}"
            )
        if state is None:
            state = self.initial_state(x.shape[0], x.device)
        obs_dim = self.config.obs_dim
        encoded = torch.relu(self.encoder(x[..., :obs_dim]))
        inputs = torch.cat([encoded, x[..., obs_dim:]], dim=-1)
        if inputs.shape[1] == 1 and inputs.device.type == "cpu":
            # One step as one matmul plus `_cell`: on CPU the fused oneDNN sequence kernel
            # costs ~2x more for T = 1.
            from_x = nn.functional.linear(inputs[:, 0], self.rnn.weight_ih_l0, self._x_bias())
            h, new_state = self._cell(from_x, state)
            return h.unsqueeze(1), new_state
        # The recurrence stays fp32 under autocast: a bf16 cell state (8-bit mantissa) drifts
        # over thousands of steps, and cuDNN runs bf16 RNNs only from version 9.13 on.
        # nn.LSTM/GRU want [layers, B, H] states; the public state stays [B, H].
        with torch.autocast(inputs.device.type, enabled=False):
            layered = tuple(s.unsqueeze(0).float() for s in state)
            rnn_state = layered if self.config.cell == "lstm" else layered[0]
            m, new_state = self.rnn(inputs.float(), rnn_state)
        if self.config.cell == "gru":
            new_state = (new_state,)
        return m, tuple(s.squeeze(0) for s in new_state)

    # -- single steps ---------------------------------------------------------------------------
    # Whenever o_t is known ahead (the T-Maze corridor does not depend on the actions), the
    # terms that read only o_t — the encoder and its share of the input gates — are one large
    # matmul over a chunk of steps instead of one small one per step; what is left per step is
    # a column of W_ih per a_{t-1} (and r_{t-1}), the recurrent matmul and the gates, `_cell`.
    # `forward` and `step` share `_cell`, so the gate math exists once; another cell provides
    # its own `initial_state`, `forward`, `precompute` and `step`.

    def precompute(self, obs: torch.Tensor) -> torch.Tensor:
        """The o_t-only share of the gate pre-activations, biases included: obs [..., obs_dim]
        -> [..., G·H] (G = 4 gates for the LSTM, 3 for the GRU), for `step`."""
        encoded = torch.relu(self.encoder(obs))
        w_obs = self.rnn.weight_ih_l0[:, :self.config.encoder_size]
        return nn.functional.linear(encoded, w_obs, self._x_bias()).float()

    def step(self, pre: torch.Tensor, prev_action: torch.Tensor | None, state: State,
             prev_reward: torch.Tensor | None = None) -> tuple[torch.Tensor, State]:
        """One step from `precompute`'s [B, G·H] of o_t, a_{t-1} [B] (int64) and r_{t-1} [B]
        (None: no previous action, a zero one-hot / zero reward) -> (m_t [B, H], state).
        Equals `forward` on x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] to float rounding."""
        from_x = pre
        weight = self.rnn.weight_ih_l0
        first = self.config.encoder_size
        if prev_action is not None:  # a_{t-1}'s column of W_ih (embedding: the fastest gather)
            columns = weight[:, first:first + self.config.num_actions].t().contiguous()
            from_x = from_x + nn.functional.embedding(prev_action, columns)
        if prev_reward is not None:
            reward_column = weight[:, first + self.config.num_actions]
            from_x = from_x + prev_reward.to(from_x.dtype)[:, None] * reward_column
        return self._cell(from_x, state)

    def _x_bias(self) -> torch.Tensor:
        """Biases added with x W_ihᵀ: the LSTM's b_hh too (it only ever adds to b_ih); the
        GRU's b_hn stays inside r ⊙ (h W_hnᵀ + b_hn)."""
        rnn = self.rnn
        return rnn.bias_ih_l0 + rnn.bias_hh_l0 if self.config.cell == "lstm" else rnn.bias_ih_l0

    def _cell(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The gate math, once: from_x = x W_ihᵀ + `_x_bias()` [B, G·H] -> (h [B, H], state).
        Under bf16 autocast the matmul drops to bf16; the gate arithmetic and c stay fp32."""
        rnn, h, from_x = self.rnn, state[0], from_x.float()
        if self.config.cell == "lstm":
            i, f, g, o = torch.addmm(from_x, h, rnn.weight_hh_l0.t()).float().chunk(4, dim=-1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, (h, c)
        from_h = torch.addmm(rnn.bias_hh_l0, h, rnn.weight_hh_l0.t()).float()
        x_r, x_z, x_n = from_x.chunk(3, dim=-1)
        h_r, h_z, h_n = from_h.chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        h = (1 - z) * torch.tanh(x_n + r * h_n) + z * h
        return h, (h,)
