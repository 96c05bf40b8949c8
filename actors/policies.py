"""Behaviour policies: what a collector's mazes do while it records episodes."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch


class BehaviourPolicy(Protocol):
    """Maps a batch of observations [N, obs_dim] to actions [N] (int)."""

    policy_id: str

    def act(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


class UniformRandomPolicy:
    """Uniform over `num_actions`: the default, so the store is not biased toward any side."""

    def __init__(self, num_actions: int = 2) -> None:
        self.num_actions = num_actions
        self.policy_id = f"uniform-random-{num_actions}"

    def act(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.num_actions, len(observations))


class TorchPolicy:
    """Samples actions from the logits of a torch module applied to the observations."""

    def __init__(self, module: torch.nn.Module, policy_id: str) -> None:
        self.module = module.eval()
        self.policy_id = policy_id

    @torch.no_grad()
    def act(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        logits = self.module(torch.as_tensor(observations, dtype=torch.float32))
        probs = torch.softmax(logits.double(), dim=-1).numpy()
        # Inverse-CDF sampling with the collector's generator keeps runs reproducible.
        draws = rng.random((len(probs), 1))
        return np.minimum((probs.cumsum(axis=1) < draws).sum(axis=1), probs.shape[1] - 1)


def make_policy(name: str) -> BehaviourPolicy:
    if name == "random":
        return UniformRandomPolicy()
    raise ValueError(f'unknown behaviour policy {name!r}: use "random"')
