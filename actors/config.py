"""Settings of the collector fleet."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CollectorConfig:
    """How episodes are collected into the trajectory store (DESIGN.md §5)."""

    num_collectors: int = 2
    """EpisodeCollector actors started by the fleet (spread over the cluster's nodes)."""
    num_envs: int = 256
    """Mazes stepped together by each collector's vector env."""
    num_episodes: int = 4000
    """Episodes the fleet collects before pretraining starts (the quota)."""
    flush_episodes: int = 32
    """Completed episodes a collector buffers before one batched insert into the store."""
    policy: str = "random"
    """Behaviour policy: "random" (uniform over actions)."""
    num_cpus_per_collector: float = 1.0
    """Ray CPUs each collector actor reserves."""
    insert_timeout_s: float = 5.0
    """How long one insert waits on back-pressure before the collector re-checks for stop."""

    def __post_init__(self) -> None:
        for name in ("num_collectors", "num_envs", "num_episodes", "flush_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"collect.{name} must be an integer >= 1, got {value!r}")
        if self.policy not in ("random",):
            raise ValueError(f'collect.policy must be "random", got {self.policy!r}')
        if not self.num_cpus_per_collector > 0:
            raise ValueError("collect.num_cpus_per_collector must be > 0")
        if not self.insert_timeout_s > 0:
            raise ValueError("collect.insert_timeout_s must be > 0")
