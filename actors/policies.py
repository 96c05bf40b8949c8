"""Behaviour policies: what a collector's mazes do while it records episodes.

A collector takes any `BehaviourPolicy` (an id recorded with each episode and a batched `act`);
the collector config names the uniform random one, which keeps the store unbiased.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


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


def make_policy(name: str, num_actions: int = 2) -> BehaviourPolicy:
    if name == "random":
        return UniformRandomPolicy(num_actions)
    raise ValueError(f'unknown behaviour policy {name!r}: use "random"')
