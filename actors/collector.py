"""EpisodeCollector: a Ray actor that fills the trajectory store with complete episodes."""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any

import numpy as np

import envs
from actors.config import CollectorConfig
from actors.episode_recorder import EpisodeRecorder, RecordedEpisode
from actors.policies import BehaviourPolicy, make_policy
from trajectory_store import Episode, RateLimitTimeout, StoreHandle


_PACE_POLL_S = 0.05  # how often a paced collector looks for a new allowance


def collector_seed(base_seed: int, index: int, incarnation: int) -> int:
    """Seed of collector `index`'s vector env; a restarted actor gets a fresh incarnation so it
    does not repeat the episodes it already flushed (each episode records its own seed)."""
    return int(np.random.SeedSequence([base_seed, index, incarnation]).generate_state(1)[0])


class _Counters:
    """`ray.util.metrics` counters when running inside Ray, nothing otherwise."""

    def __init__(self, collector_id: str) -> None:
        self._counters = {}
        try:
            import ray

            if ray.is_initialized():
                from ray.util.metrics import Counter

                tags = {"collector_id": collector_id}
                for name, doc in (
                    ("memup_collector_episodes_total", "Episodes flushed to the store"),
                    ("memup_collector_env_steps_total", "Decision steps flushed to the store"),
                ):
                    counter = Counter(name, description=doc, tag_keys=("collector_id",))
                    counter.set_default_tags(tags)
                    self._counters[name] = counter
        except ImportError:
            pass

    def add(self, episodes: int, steps: int) -> None:
        if self._counters:
            self._counters["memup_collector_episodes_total"].inc(episodes)
            self._counters["memup_collector_env_steps_total"].inc(steps)


class EpisodeCollector:
    """Steps a vector env under a behaviour policy and flushes complete episodes in batches.

    Runs in-process (serial mode, tests) or as a Ray actor via `actors.fleet`. It never writes a
    partial episode: only terminated episodes leave the recorder, and each insert is atomic per
    episode. Killed, it loses at most the episodes of its unflushed batch.

        collector = EpisodeCollector(0, env_spec, CollectorConfig(), StoreHandle(url, "run"))
        summary = collector.run(max_episodes=1000)
    """

    def __init__(
        self,
        index: int,
        env: envs.EnvSpec,
        config: CollectorConfig,
        store: StoreHandle,
        base_seed: int = 0,
        incarnation: int | None = None,
        policy: BehaviourPolicy | None = None,
    ) -> None:
        self.index = index
        self.collector_id = f"collector-{index}"
        self.env = env
        self.config = config
        self.policy = policy or make_policy(self.config.policy, self.env.num_actions,
                                            self.config.repeat_exponent,
                                            self.env.max_episode_steps)
        self.store = store.connect()
        if incarnation is None:
            incarnation = _incarnation()
        self.seed = collector_seed(base_seed, index, incarnation)
        self._stop = threading.Event()
        self._allowance: int | None = None
        self._counters = _Counters(self.collector_id)
        self._flushed_episodes = 0
        self._flushed_steps = 0
        self._env_steps = 0
        self._started = time.perf_counter()

    def run(self, max_episodes: int | None = None,
            allowance: int | None = None) -> dict[str, Any]:
        """Collects until `stop()` or until `max_episodes` are flushed; returns `summary()`.
        `allowance` paces it (see `allow`) from the start.

        A `stop()` that arrives before `run` starts still counts: the flag is never cleared.
        """
        if allowance is not None:
            self.allow(allowance)
        env = envs.make_vector_env(self.env, self.config.num_envs)
        rng = np.random.default_rng(self.seed)
        recorder = EpisodeRecorder(env.num_envs, self.env.obs_dim, self.env.max_episode_steps)
        obs, _ = env.reset(seed=self.seed)
        recorder.begin(obs, env.episode_seeds)
        pending: list[RecordedEpisode] = []
        # Only an env that reports success records it; the others record none.
        no_success = np.zeros(env.num_envs, bool) if self.env.reports_success else None
        while not self._stop.is_set():
            if self._allowance is not None and self._flushed_episodes >= self._allowance:
                time.sleep(_PACE_POLL_S)  # paced: step nothing until `allow` grants more
                continue
            actions = self.policy.act(obs, rng)
            obs, rewards, terminated, truncated, infos = env.step(actions)
            self._env_steps += env.num_envs
            success = infos.get("success", no_success)
            pending += recorder.record(actions, obs, rewards, terminated, success,
                                       env.episode_seeds, truncated)
            if max_episodes is not None:
                pending = pending[: max_episodes - self._flushed_episodes]
            if (len(pending) >= self.config.flush_episodes
                    or self._quota_met(pending, max_episodes)
                    or self._quota_met(pending, self._allowance)):
                self._flush(pending)
                pending = []
                if max_episodes is not None and self._flushed_episodes >= max_episodes:
                    break
        return self.summary()

    def allow(self, total_episodes: int | None) -> None:
        """Paces `run`: once it has flushed `total_episodes` episodes in all it steps nothing
        until a larger allowance comes (None: no limit). The online loop keeps the collectors'
        share of the store's episodes this way (docs/design.md §14)."""
        self._allowance = total_episodes

    def stop(self) -> None:
        """Asks `run` to return after its current step (unflushed episodes are dropped)."""
        self._stop.set()

    def summary(self) -> dict[str, Any]:
        elapsed = time.perf_counter() - self._started
        return {
            "collector/id": self.collector_id,
            "collector/node_id": _node_id(),
            "collector/node_ip": _node_ip(),
            "collector/pid": os.getpid(),
            "collector/episodes": self._flushed_episodes,
            "collector/steps": self._flushed_steps,
            "collector/env_steps": self._env_steps,
            "collector/steps_per_s": self._flushed_steps / max(elapsed, 1e-9),
        }

    def _quota_met(self, pending: list, max_episodes: int | None) -> bool:
        return max_episodes is not None and self._flushed_episodes + len(pending) >= max_episodes

    def _flush(self, recorded: list[RecordedEpisode]) -> None:
        episodes = [self._to_episode(r) for r in recorded]
        while True:
            try:
                self.store.insert(episodes, timeout_s=self.config.insert_timeout_s)
                break
            except RateLimitTimeout:
                # Back-pressure: the learner is behind. Keep waiting unless told to stop.
                if self._stop.is_set():
                    return
        steps = sum(len(e.action) for e in recorded)
        self._flushed_episodes += len(recorded)
        self._flushed_steps += steps
        self._counters.add(len(recorded), steps)

    def _to_episode(self, recorded: RecordedEpisode) -> Episode:
        return Episode.create(
            recorded.obs,
            recorded.action,
            recorded.reward,
            env_id=self.env.config.id,
            env_kwargs=self.env.config.kwargs,
            seed=recorded.episode_seed,
            collector_id=self.collector_id,
            policy_id=self.policy.policy_id,
            terminated=not recorded.truncated,
            truncated=recorded.truncated,
            success=recorded.success,
        )


def _incarnation() -> int:
    """0 for a fresh actor; a random value for one Ray restarted after a crash."""
    try:
        import ray

        # This public property reads Ray's deprecated `ray.state.actors` inside, which warns
        # once per collector about Ray's own code.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = (ray.is_initialized()
                         and ray.get_runtime_context().was_current_actor_reconstructed)
        if restarted:
            return int.from_bytes(os.urandom(4), "little") + 1
    except (ImportError, RuntimeError, AttributeError):
        pass
    return 0


def _node_ip() -> str | None:
    try:
        import ray

        return ray.util.get_node_ip_address() if ray.is_initialized() else None
    except ImportError:
        return None


def _node_id() -> str | None:
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except ImportError:
        return None
