"""Settings of the collector fleet."""

from __future__ import annotations

import dataclasses

from actors.policies import POLICIES
from envs.validation import require_choice, require_int, require_real


@dataclasses.dataclass(frozen=True)
class CollectorConfig:
    """How episodes are collected into the trajectory store (docs/design.md §5)."""

    num_collectors: int = 2
    """EpisodeCollector actors started by the fleet (spread over the cluster's nodes)."""
    num_envs: int = 256
    """Mazes stepped together by each collector's vector env."""
    num_episodes: int = 4000
    """Episodes the fleet collects before pretraining starts (the quota)."""
    flush_episodes: int = 32
    """Completed episodes a collector buffers before one batched insert into the store."""
    policy: str = "random"
    """Behaviour policy: "random" (uniform over actions) or "repeat" (uniform, each action held
    for a heavy-tailed number of steps: explores further, actors.policies)."""
    repeat_exponent: float = 2.0
    """For "repeat": P(an action is held n steps) is proportional to n^-repeat_exponent."""
    num_cpus_per_collector: float = 1.0
    """Ray CPUs each collector actor reserves."""
    insert_timeout_s: float = 5.0
    """How long one insert waits on back-pressure before the collector re-checks for stop."""

    def __post_init__(self) -> None:
        for name in ("num_collectors", "num_envs", "num_episodes", "flush_episodes"):
            require_int(f"collect.{name}", getattr(self, name), 1)
        require_choice("collect.policy", self.policy, POLICIES)
        require_real("collect.repeat_exponent", self.repeat_exponent, 1.0, open_low=True)
        for name in ("num_cpus_per_collector", "insert_timeout_s"):
            require_real(f"collect.{name}", getattr(self, name), 0.0, open_low=True)
