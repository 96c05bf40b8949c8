"""The memory-free networks of MemUP: context encoder, detector d_ψ and predictor q_φ."""

from __future__ import annotations

import torch
from torch import nn

from memup_module.config import MemoryConfig


def context_features(obs: torch.Tensor, action: torch.Tensor, num_actions: int) -> torch.Tensor:
    """The raw context of step t, [o_t, one_hot(a_t)], that every context encoder reads."""
    one_hot = nn.functional.one_hot(action.long(), num_actions).to(obs.dtype)
    return torch.cat([obs, one_hot], dim=-1)


class ContextEncoder(nn.Module):
    """c_t: the local, memory-free view of step t, from [o_t, one_hot(a_t)].

    Detector and predictor each own one (same inputs, same preprocessing, separate weights):
    the detector must stay memory-free while the predictor's encoder trains with the memory.
    """

    def __init__(self, memory: MemoryConfig, size: int) -> None:
        super().__init__()
        self.input_size = memory.obs_dim + memory.num_actions
        self.linear = nn.Linear(self.input_size, size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(features))


class Detector(nn.Module):
    """d_ψ(f_t | c_t): a categorical over the target classes from the context alone."""

    def __init__(self, memory: MemoryConfig, context_size: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.context = ContextEncoder(memory, context_size)
        self.head = nn.Sequential(
            nn.Linear(context_size, hidden), nn.ReLU(), nn.Linear(hidden, classes)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features [..., obs_dim + num_actions] -> logits [..., classes]."""
        return self.head(self.context(features))


class Predictor(nn.Module):
    """q_φ(f_k | m_t, c_k): an MLP over [m_t, context(k)] for every k in U_t.

    The first layer is split into its m_t and c_k halves so that m_t is projected once per
    step, not once per target: W [m; c] = W_m m + W_c c. With `distance`, the first layer also
    reads log(1 + k − t): where f_k depends on what happens between t and k (POPGym's
    CountRecall: the count at k is the count at t plus what comes after), a predictor blind
    to the distance cannot tell its own step's target from a guess about a far one.
    """

    def __init__(self, memory: MemoryConfig, context_size: int, hidden: int, classes: int,
                 distance: bool = False) -> None:
        super().__init__()
        self.context = ContextEncoder(memory, context_size)
        self.from_memory = nn.Linear(memory.hidden_size, hidden)
        self.from_context = nn.Linear(context_size, hidden, bias=False)
        self.from_distance = nn.Linear(1, hidden, bias=False) if distance else None
        self.out = nn.Linear(hidden, classes)

    def forward(self, m: torch.Tensor, features: torch.Tensor,
                distance: torch.Tensor | None = None) -> torch.Tensor:
        """m [..., H], features [..., K, F] (K targets per step), distance [..., K] steps from
        t to each target (None: every target is step t itself) -> logits [..., K, classes]."""
        hidden = self.from_memory(m).unsqueeze(-2) + self.from_context(self.context(features))
        if self.from_distance is not None and distance is not None:
            steps = torch.log1p(distance.to(hidden.dtype).clamp(min=0)).unsqueeze(-1)
            hidden = hidden + self.from_distance(steps)
        return self.out(torch.relu(hidden))
