"""The online loop (`mode: online`, docs/design.md §14): MemUP and IMPALA learn at the same time,
the memory from the episodes the policy itself plays.

    figures = train_online(config, run, redis_url)      # after the collectors' warm-start episodes

The MemUP learner (a Ray actor, on the head) trains in rounds of `online.updates_per_version`
updates on whatever the store holds: the collectors' episodes first, then more and more of the
episodes IMPALA's EnvRunners put there (`learner.impala.episode_sink`). After each round it
publishes its memory weights as a new version through Ray's object store; IMPALA's learner
loads them before its next update and the EnvRunners get them with the next weight broadcast,
so every stored episode names the memory version that played it. The heads keep learning
across swaps (how they cope with a moving memory: docs/design.md §14).
"""

from __future__ import annotations

import logging
import numbers
from typing import Any

import ray

from app.config import RunConfig
from app.online_collectors import CollectorMix
from learner.impala import train_policy
from learner.impala.episode_sink import POLICY_ID, SinkSettings
from learner.impala.learner import memory_version, offer_memory
from learner.impala.training import MEMORY_VERSION
from learner.memup import start_memup_learner
from learner.metrics import MetricsWriter
from learner.run_dir import RunDir
from trajectory_store import StoreHandle, TrajectoryStore

log = logging.getLogger(__name__)


class MemoryPublisher:
    """Keeps one round of MemUP updates running and, once it is done, swaps the new memory into
    IMPALA (`after_iteration`, called between IMPALA's training iterations)."""

    def __init__(self, memup_learner: Any, updates_per_version: int,
                 store: TrajectoryStore) -> None:
        self._learner = memup_learner
        self._updates = updates_per_version
        self._store = store
        self._round: ray.ObjectRef | None = None
        self.version: int | None = None  # read off IMPALA's learner, which a resume restores

    def start(self) -> None:
        self._round = self._learner.train.remote(self._updates)

    def after_iteration(self, algo: Any) -> dict[str, float]:
        """Swaps in a new memory if a round has ended (and starts the next); never waits."""
        if self._round is None:
            return {}
        ready, _ = ray.wait([self._round], timeout=0)
        if not ready:
            return {}
        metrics = ray.get(self._round)
        weights = ray.get(self._learner.memory_weights.remote())
        self._round = self._learner.train.remote(self._updates)
        self.version = (memory_version(algo) if self.version is None else self.version) + 1
        offer_memory(algo, weights, self.version)
        log.info("online: memory version %d swapped in", self.version)
        return {MEMORY_VERSION: float(self.version), **self._store_mix(),
                **{k: float(v) for k, v in metrics.items()
                   if isinstance(v, numbers.Real) and k.startswith("memup/")}}

    def _store_mix(self) -> dict[str, float]:
        """How much of what went into the store the policy played, and the samples per insert."""
        stats = self._store.stats()
        inserted = max(stats.inserted, 1)
        return {"online/policy_episode_share":
                    stats.inserted_by_policy.get(POLICY_ID, 0) / inserted,
                "online/samples_per_insert": stats.sampled / inserted,
                "store/episodes": float(stats.episodes)}


def train_online(config: RunConfig, run: RunDir, redis_url: str) -> dict[str, Any]:
    """Warm-starts MemUP on the store's episodes, then runs IMPALA (recording its episodes into
    the store) while MemUP keeps training and publishing; saves the policy and the memory."""
    online = config.online
    handle = StoreHandle(redis_url, run.store_name)
    learner = start_memup_learner(config.memup, config.env, handle.connect, run,
                                  progress=False)
    store = handle.connect()
    publisher = MemoryPublisher(learner, online.updates_per_version, store)
    mix: CollectorMix | None = None
    try:
        if online.warm_start_updates and ray.get(learner.step.remote()) == 0:  # not on resume
            ray.get(learner.train.remote(online.warm_start_updates))
        # Version 0, the memory IMPALA starts from.
        ray.get(learner.export_memory.remote(str(run.memory)))
        publisher.start()
        mix = CollectorMix.start(config, handle)

        def after_iteration(algo: Any) -> dict[str, float]:
            paced = mix.pace() if mix is not None else {}
            return {**paced, **publisher.after_iteration(algo)}

        with MetricsWriter(run.metrics) as writer:
            result = train_policy(config.env, config.impala, train_env=config.train_env,
                                  memory_path=run.memory, policy_dir=run.policy,
                                  on_metrics=writer.write,
                                  sink=SinkSettings(handle, online.flush_episodes),
                                  after_iteration=after_iteration,
                                  checkpoint_dir=run.policy_checkpoints,
                                  reserved_worker_cpus=mix.cpus if mix is not None else 0,
                                  # MemUP and the collectors just started hold the other cores.
                                  learner_actor=False)
        # The newest memory; the saved policy holds the version it last ran with.
        ray.get(learner.export_memory.remote(str(run.memory)))
        memup = ray.get(learner.evaluate.remote())
        ray.get(learner.close.remote())
    finally:
        if mix is not None:
            mix.stop()
        ray.kill(learner)
        store.close()
    figures = {f"impala/{k}": v for k, v in result.items() if k != "path"}
    figures["online/memory_versions"] = publisher.version or 0
    figures.update({k: v for k, v in memup.items() if k.startswith("memup/")})
    return figures
