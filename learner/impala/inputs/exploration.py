"""Temporally extended exploration on the EnvRunners (`impala.explore_repeat_prob`).

A sampling policy that has found a way to its payoff soon stops trying anything far from it:
in the Detour T-Maze it walks straight to the junction and never looks at the cue again
(docs/results.md §7). With probability ε per step a sub-env that is not holding an action
starts holding a uniformly random one for n steps, P(n) ∝ n^-exponent (Dabney et al., ICLR
2021), which carries it far off the policy's path; otherwise it samples the policy.

IMPALA learns off-policy from these steps: ACTION_LOGP is the behaviour's true probability, so
V-trace weighs them correctly. At a step that may start a run the behaviour picks a with
μ(a) = (1 − ε) π(a) + ε / |A|; inside a run its action is certain (log μ = 0), since the run's
length was drawn when it started.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from actors.policies import HeldActions


@dataclasses.dataclass(frozen=True)
class ExplorationSettings:
    """What `ImpalaConfig` sets for the EnvRunners' exploration (picklable, sent to them)."""

    repeat_prob: float = 0.0
    """ε: chance per step that a sub-env starts holding a random action (0: off)."""
    repeat_exponent: float = 2.0
    """P(a run lasts n steps) ∝ n^-repeat_exponent."""
    max_repeat: int = 10_000
    """The longest run (the env's time limit)."""


class RepeatExploration:
    """Held random actions over the policy's samples, with the behaviour's log-probabilities."""

    def __init__(self, settings: ExplorationSettings, num_actions: int) -> None:
        self.settings = settings
        self._held = HeldActions(num_actions, settings.repeat_exponent, settings.max_repeat)
        self._rng: np.random.Generator | None = None

    def apply(self, actions: np.ndarray, log_probs: np.ndarray,
              fresh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """actions [B] sampled from the policy, its log_probs [B, A], `fresh` [B] bool (the
        sub-env's episode has just begun) -> (actions taken, their log μ)."""
        if self._rng is None:  # from numpy's global RNG, which RLlib seeds per EnvRunner
            self._rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))
        eps = self.settings.repeat_prob
        held = self._held.holding(len(actions))
        self._held.drop(fresh)
        held &= ~fresh
        starting = ~held & (self._rng.random(len(actions)) < eps)
        self._held.start(starting, self._rng)
        run_actions = self._held.take()
        taken = np.where(held | starting, run_actions, actions)
        policy_p = np.exp(np.take_along_axis(log_probs, taken[:, None], axis=-1)[:, 0])
        mixed = np.log((1.0 - eps) * policy_p + eps / log_probs.shape[-1])
        return taken, np.where(held, 0.0, mixed)
