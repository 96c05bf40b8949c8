"""Exploring collectors in the online loop's mix (`online.collector_share`, docs/design.md §14).

A policy that has learned to walk straight to its payoff stops showing the memory anything
else; the collectors keep playing their `collect.policy` beside it, paced so that they make a
fixed share of the episodes that go into the store while the loop runs.

    mix = CollectorMix.start(config, handle)       # None when collector_share is 0
    mix.pace()                                     # between IMPALA iterations
    mix.stop()
"""

from __future__ import annotations

import math

import numpy as np

from actors import CollectorFleet
from app.config import RunConfig
from learner.impala.episode_sink import POLICY_ID
from trajectory_store import StoreHandle, TrajectoryStore


class CollectorMix:
    """A paced collector fleet: after the policy's n-th episode in the store the collectors may
    have put n * share / (1 - share) of their own there."""

    def __init__(self, fleet: CollectorFleet, store: TrajectoryStore, share: float,
                 cpus: int) -> None:
        self.fleet = fleet
        self.cpus = cpus
        """Worker CPUs the collectors hold ("auto" EnvRunners leave them free)."""
        self._store = store
        self._ratio = share / (1.0 - share)
        self._policy_at_start = self._policy_inserts()

    @classmethod
    def start(cls, config: RunConfig, handle: StoreHandle) -> "CollectorMix | None":
        share = config.online.collector_share
        if share == 0:
            return None
        store = handle.connect()
        # A fresh seed stream for each start of the loop: a resumed run does not replay the
        # episodes the warm start or the interrupted loop already stored.
        base_seed = int(np.random.SeedSequence(
            [config.seed, store.stats().inserted]).generate_state(1)[0])
        fleet = CollectorFleet.start(config.env, config.collect, handle, base_seed, paced=True)
        collect = config.collect
        return cls(fleet, store, share,
                   math.ceil(collect.num_collectors * collect.num_cpus_per_collector))

    def pace(self) -> dict[str, float]:
        """Grants the collectors their share of what the policy inserted since the start."""
        policy = self._policy_inserts() - self._policy_at_start
        allowed = math.ceil(policy * self._ratio)
        self.fleet.pace(allowed)
        return {"online/collector_allowance": float(allowed)}

    def stop(self) -> None:
        try:
            self.fleet.stop()
        finally:
            self._store.close()

    def _policy_inserts(self) -> int:
        return self._store.stats().inserted_by_policy.get(POLICY_ID, 0)
