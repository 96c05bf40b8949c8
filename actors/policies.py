"""Behaviour policies: what a collector's mazes do while it records episodes.

A collector takes any `BehaviourPolicy` (an id recorded with each episode and a batched `act`);
the collector config names one: uniform random (the default, which keeps the store unbiased)
or uniform random with temporally extended actions (`"repeat"`, which walks further).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

POLICIES = ("random", "repeat")


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


class HeldActions:
    """Per maze, a uniformly random action held for n steps, P(n) proportional to
    n^-exponent, n <= max_repeat (Dabney et al., "Temporally-Extended epsilon-Greedy
    Exploration", ICLR 2021). The collectors' "repeat" policy and the EnvRunners' exploration
    (learner.impala.inputs.exploration) hold their runs here."""

    def __init__(self, num_actions: int, exponent: float, max_repeat: int) -> None:
        self.num_actions = num_actions
        lengths = np.arange(1, max(max_repeat, 1) + 1, dtype=np.float64)
        weights = lengths ** -float(exponent)
        self._cdf = np.cumsum(weights / weights.sum())
        self.action = np.zeros(0, np.int64)
        self.left = np.zeros(0, np.int64)

    def holding(self, n: int) -> np.ndarray:
        """[n] bool: which mazes are inside a run (all False when the batch size changed)."""
        if len(self.left) != n:
            self.action, self.left = np.zeros(n, np.int64), np.zeros(n, np.int64)
        return self.left > 0

    def start(self, which: np.ndarray, rng: np.random.Generator) -> None:
        """Starts a fresh run in the mazes of the bool mask `which`."""
        count = int(which.sum())
        if count:
            self.action[which] = rng.integers(0, self.num_actions, count)
            self.left[which] = np.searchsorted(self._cdf, rng.random(count), side="right") + 1

    def drop(self, which: np.ndarray) -> None:
        """Ends the runs of the mazes in `which` (their episode ended)."""
        self.left[which] = 0

    def take(self) -> np.ndarray:
        """This step's action of every maze's run (meaningful where a run is on)."""
        self.left = np.maximum(self.left - 1, 0)
        return self.action.copy()


class RepeatedRandomPolicy:
    """Uniform random actions, each held for a heavy-tailed number of steps (`HeldActions`
    with epsilon 1). A uniform random walk strays about sqrt(T) steps in T; heavy-tailed runs
    of one action reach places that are hundreds of steps away. Runs are at most `max_repeat`
    steps (the episode's time limit: a longer one only wastes the episode) and may go on
    across an episode boundary.
    """

    def __init__(self, num_actions: int = 2, exponent: float = 2.0,
                 max_repeat: int = 10_000) -> None:
        self.num_actions = num_actions
        self.policy_id = f"repeat-random-{num_actions}"
        self._held = HeldActions(num_actions, exponent, max_repeat)

    def act(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self._held.start(~self._held.holding(len(observations)), rng)
        return self._held.take()


def make_policy(name: str, num_actions: int = 2, repeat_exponent: float = 2.0,
                max_repeat: int = 10_000) -> BehaviourPolicy:
    if name == "random":
        return UniformRandomPolicy(num_actions)
    if name == "repeat":
        return RepeatedRandomPolicy(num_actions, repeat_exponent, max_repeat)
    raise ValueError(f"unknown behaviour policy {name!r}: use one of {POLICIES}")
