"""Settings of the online loop (`mode: online`, docs/design.md §14)."""

from __future__ import annotations

import dataclasses

from envs.validation import require_int, require_real

MODES = ("two-phase", "online")
"""How a run trains its memory: pretrained on the collectors' random episodes, then frozen
(two-phase, the MemUP paper's method), or alongside the policy on its own episodes (online)."""

MAX_COLLECTOR_SHARE = 0.95  # the policy's episodes must still come in


@dataclasses.dataclass(frozen=True)
class OnlineConfig:
    """The `online:` section of a preset; used when `mode: online`."""

    warm_start_updates: int = 0
    """MemUP updates on the collectors' episodes before IMPALA starts (0: a fresh memory)."""
    updates_per_version: int = 100
    """MemUP updates between two memory versions swapped into IMPALA."""
    flush_episodes: int = 8
    """Ended episodes an EnvRunner holds before one insert into the store."""
    collector_share: float = 0.0
    """Share of the episodes inserted while the loop runs that the collectors play (their
    `collect.policy`, exploring); 0: the collectors stop after the warm-start episodes."""

    def __post_init__(self) -> None:
        require_int("online.warm_start_updates", self.warm_start_updates, 0)
        require_int("online.updates_per_version", self.updates_per_version, 1)
        require_int("online.flush_episodes", self.flush_episodes, 1)
        require_real("online.collector_share", self.collector_share, 0.0, MAX_COLLECTOR_SHARE)
