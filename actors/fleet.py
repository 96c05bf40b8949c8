"""Start N EpisodeCollector actors spread over the cluster, wait for a quota, stop them."""

from __future__ import annotations

import time
from typing import Any, Callable

import ray

from actors.collector import EpisodeCollector
from actors.config import CollectorConfig
from actors.placement import worker_resources
from envs import EnvSpec
from trajectory_store import StoreHandle, TrajectoryStore

# Ray restarts a crashed collector and re-runs its `run` call; `max_concurrency=2` lets
# `stop()` reach an actor whose `run` is in progress.
RemoteCollector = ray.remote(max_restarts=-1, max_task_retries=-1, max_concurrency=2)(
    EpisodeCollector
)


class CollectorFleet:
    """Handles of running collectors and their `run` calls.

        fleet = CollectorFleet.start(env_spec, collect, StoreHandle(url, name, store_config))
        fleet.wait_for_episodes(store, 4000)   # or pass num_episodes=4000 to start
        summaries = fleet.stop()
    """

    def __init__(self, actors: list, runs: list) -> None:
        self.actors = actors
        self._runs = runs
        self._summaries: dict[int, dict[str, Any]] = {}  # by index, of the runs that returned

    @classmethod
    def start(
        cls,
        env: EnvSpec,
        collect: CollectorConfig,
        store: StoreHandle,
        base_seed: int = 0,
        num_episodes: int | None = None,
        paced: bool = False,
    ) -> "CollectorFleet":
        """Starts the actors; with `num_episodes`, each collects its share of them and returns
        (a collector Ray restarts after a crash collects its share again), else until stopped.
        `paced`: they wait for `pace` before they collect anything."""
        share = None
        if num_episodes is not None:
            share = -(-num_episodes // collect.num_collectors)  # ceil: the shares cover the quota
        # On a cluster started by `memup node`, collectors keep to the workers (the head holds
        # the learners); SPREAD then shares them out among the workers.
        placement = worker_resources(ray.cluster_resources())
        actors = [
            RemoteCollector.options(
                name=f"collector-{i}",
                num_cpus=collect.num_cpus_per_collector,
                resources=placement,
                scheduling_strategy="SPREAD",
            ).remote(i, env, collect, store, base_seed)
            for i in range(collect.num_collectors)
        ]
        allowance = 0 if paced else None
        return cls(actors, [actor.run.remote(share, allowance) for actor in actors])

    def pace(self, total_episodes: int) -> None:
        """Lets the fleet flush `total_episodes` episodes in all, shared out evenly (each
        collector counts its own; one that Ray restarted counts from 0 again)."""
        each = -(-total_episodes // len(self.actors))
        for i, actor in enumerate(self.actors):
            if i not in self._summaries:
                actor.allow.remote(each)

    def wait_for_episodes(
        self,
        store: TrajectoryStore,
        num_episodes: int,
        *,
        timeout_s: float | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Blocks until the store has received `num_episodes` more inserts than now."""
        start = store.stats().inserted
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            done = store.stats().inserted - start
            if on_progress is not None:
                on_progress(min(done, num_episodes))
            if done >= num_episodes:
                return done
            self._release_finished()  # raises a collector's error, if one failed
            if len(self._summaries) == len(self._runs):
                if store.stats().inserted - start < num_episodes:
                    raise RuntimeError(
                        f"every collector returned after {done} of {num_episodes} episodes "
                        "(another client stopped them?)"
                    )
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"collectors inserted {done} of {num_episodes} episodes in {timeout_s:.0f} s; "
                    "check the collectors' logs in the Ray dashboard"
                )
            time.sleep(0.2)

    def stop(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Stops every collector cleanly and returns their summaries."""
        running = [i for i in range(len(self.actors)) if i not in self._summaries]
        stops = []
        for i in running:
            try:
                stops.append(self.actors[i].stop.remote())
            except ray.exceptions.RayActorError:
                pass
        for i in running:
            try:
                self._summaries[i] = ray.get(self._runs[i], timeout=timeout_s)
            except (ray.exceptions.RayError, TimeoutError):
                pass
        # Killing an actor under a pending `stop` makes Ray log a retried, failed task.
        ray.wait(stops, num_returns=len(stops), timeout=min(timeout_s, 5.0))
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        return [self._summaries[i] for i in sorted(self._summaries)]

    def _release_finished(self) -> None:
        """Frees the CPU of each collector whose share is done: a collector that Ray restarts
        after its node died may need exactly that CPU to collect its share again."""
        pending = [run for i, run in enumerate(self._runs) if i not in self._summaries]
        ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0) if pending else ([], [])
        for run in ready:
            index = self._runs.index(run)
            self._summaries[index] = ray.get(run)
            ray.kill(self.actors[index], no_restart=True)


def collect_episodes(
    env: EnvSpec,
    collect: CollectorConfig,
    store: StoreHandle,
    *,
    num_episodes: int,
    base_seed: int = 0,
    timeout_s: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs a fleet until the store has `num_episodes` more episodes; returns summaries."""
    client = store.connect()
    fleet = CollectorFleet.start(env, collect, store, base_seed, num_episodes=num_episodes)
    try:
        fleet.wait_for_episodes(client, num_episodes, timeout_s=timeout_s,
                                on_progress=on_progress)
    finally:
        summaries = fleet.stop()
        client.close()
    return summaries
