"""The recurrent memory g_θ, shared by phase I (MemUP) and phase II (the RLlib module)."""

from __future__ import annotations

import torch
from torch import nn

from memup_module.cells import State, make_cell, zero_state
from memup_module.config import MemoryConfig


class Memory(nn.Module):
    """m_t = g_θ(m_{t-1}, x_t) with x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] (docs/design.md §3, §6).

    A plain module over batch-first tensors with an explicit state tuple, so the same class runs
    in the MemUP learner and inside an RLModule; the recurrence is any `memup_module.cells` cell
    (`config.cell`):

        memory = Memory(MemoryConfig())
        m, state = memory(x)                # x [B, T, 6] -> m [B, T, 256], state from zeros
        m2, state = memory(x_next, state)   # continues where the first call stopped
    """

    def __init__(self, config: MemoryConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = nn.Linear(config.obs_dim, config.encoder_size)
        self.rnn = make_cell(config.cell, config.encoder_size + config.num_actions + 1,
                             config.hidden_size, config.forget_bias)

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def state_keys(self) -> tuple[str, ...]:
        """Names of the state parts (the RLModule's STATE_IN/STATE_OUT keys)."""
        return self.rnn.state_keys

    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None
    ) -> State:
        """The zero state of `batch_size` sequences."""
        if device is None:
            device = self.encoder.weight.device
        return zero_state(self.rnn, batch_size, device)

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
            # One step as one matmul plus the cell's step: on CPU the fused oneDNN sequence
            # kernel costs ~2x more for T = 1.
            from_x = nn.functional.linear(inputs[:, 0], self.rnn.weight_ih_l0,
                                          self.rnn.input_bias())
            h, new_state = self.rnn.step(from_x, state)
            return h.unsqueeze(1), new_state
        return self.rnn.sequence(inputs, state)

    # -- single steps ---------------------------------------------------------------------------
    # Whenever o_t is known ahead (the T-Maze corridor does not depend on the actions), the
    # terms that read only o_t — the encoder and its share of the cell's input map — are one
    # large matmul over a chunk of steps instead of one small one per step; what is left per
    # step is a column of W_ih per a_{t-1} (and r_{t-1}) and the cell's `step`.

    def precompute(self, obs: torch.Tensor) -> torch.Tensor:
        """The o_t-only share of the cell's input, biases included: obs [..., obs_dim]
        -> [..., P] (P = the cell's input width, e.g. 4H for the LSTM), for `step`."""
        encoded = torch.relu(self.encoder(obs))
        w_obs = self.rnn.weight_ih_l0[:, :self.config.encoder_size]
        return nn.functional.linear(encoded, w_obs, self.rnn.input_bias()).float()

    def step(self, pre: torch.Tensor, prev_action: torch.Tensor | None, state: State,
             prev_reward: torch.Tensor | None = None) -> tuple[torch.Tensor, State]:
        """One step from `precompute`'s [B, P] of o_t, a_{t-1} [B] (int64) and r_{t-1} [B]
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
        return self.rnn.step(from_x, state)
