"""How many held-out episodes a claim about the success rate needs (docs/design.md §7).

    success_lower_bound(successes=59, episodes=59)     # 0.9505: success >= 0.95 at 95 %
    episodes_to_show(0.95)                              # 59

The bound is the one-sided Clopper-Pearson lower bound: the smallest success rate p under
which seeing at least `successes` of `episodes` still has probability 1 - confidence. It holds
for any number of episodes (no normal approximation), which matters where every episode
succeeds and the interesting figure is how far below 1.000 the true rate could still be.
"""

from __future__ import annotations

import math

CONFIDENCE = 0.95


def success_lower_bound(successes: int, episodes: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson lower bound on the success rate at `confidence`."""
    if not 0 <= successes <= episodes or episodes < 1:
        raise ValueError(f"need 0 <= successes <= episodes and episodes >= 1, got "
                         f"{successes} of {episodes}")
    if successes == 0:
        return 0.0
    alpha = 1.0 - confidence
    if successes == episodes:
        return alpha ** (1.0 / episodes)
    low, high = 0.0, successes / episodes
    for _ in range(60):  # bisection: P(X >= successes | p) rises with p
        middle = (low + high) / 2
        if _at_least(successes, episodes, middle) < alpha:
            low = middle
        else:
            high = middle
    return low


def episodes_to_show(success_rate: float, confidence: float = CONFIDENCE) -> int:
    """The fewest episodes that, all successful, put the lower bound at `success_rate` or above."""
    if not 0.0 < success_rate < 1.0:
        raise ValueError(f"a success rate to show must lie in (0, 1), got {success_rate}")
    return math.ceil(math.log(1.0 - confidence) / math.log(success_rate))


def _at_least(successes: int, episodes: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(episodes, p)."""
    return sum(math.comb(episodes, k) * p ** k * (1 - p) ** (episodes - k)
               for k in range(successes, episodes + 1))
