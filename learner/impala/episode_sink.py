"""Puts the episodes IMPALA's EnvRunners play into the trajectory store, whole (docs/design.md
§7): the online loop's memory learns from the policy's own episodes.

    config.callbacks(EpisodeSink)                      # learner.impala.training does this
    rllib_env_config(spec, sink=SinkSettings(StoreHandle(url, name)))

Each EnvRunner keeps its episodes' step columns until the episode ends, then inserts it with
the store's validated, atomic insert (`flush_episodes` at a time, and at the end of every
`sample()`). A partial episode never leaves the EnvRunner: one killed mid-episode loses that
episode and the ended ones not yet flushed, nothing else. Each episode records its seed (it
replays from the seed and its actions), the EnvRunner, and the behaviour's versions: the
policy weights' sequence number and the module's `memory_version`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO

from envs import EnvSpec
from learner.impala.inputs.env import SINK_KEY, SPEC_KEY
from trajectory_store import Episode, RateLimitTimeout, StoreHandle, TrajectoryStore

POLICY_ID = "impala"
_SEED = "memup_episode_seed"


@dataclasses.dataclass(frozen=True)
class SinkSettings:
    """Which store the EnvRunners write to, and how."""

    store: StoreHandle
    flush_episodes: int = 8
    """Ended episodes an EnvRunner holds before one insert (and at the end of each sample)."""
    insert_timeout_s: float = 5.0
    """One wait for the store's rate limiter; the EnvRunner waits again until it gets in."""
    patience_s: float = 600.0
    """How long in all an EnvRunner waits for the rate limiter before it fails the run."""


class EpisodeSink(RLlibCallback):
    """RLlib callback (one per EnvRunner) that records ended episodes into the store when the
    env config holds `SinkSettings`; a no-op otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self._store: TrajectoryStore | None = None
        self._pending: list[Episode] = []

    def on_episode_start(self, *, episode: Any, env_runner: Any = None, env: Any = None,
                         env_index: int, **kwargs: Any) -> None:
        if _settings(env_runner) is not None:
            # The vector env names the seed of the episode it just reset sub-env env_index to.
            episode.custom_data[_SEED] = int(env.episode_seeds[env_index])

    def on_episode_end(self, *, episode: Any, prev_episode_chunks: list | None = None,
                       env_runner: Any = None, rl_module: Any = None, env_index: int,
                       **kwargs: Any) -> None:
        settings = _settings(env_runner)
        if settings is None:
            return
        spec: EnvSpec = env_runner.config.env_config[SPEC_KEY]
        chunks = [*(prev_episode_chunks or []), episode]
        obs = np.concatenate([_observations(c) for c in chunks])[:, :spec.obs_dim]
        actions = np.concatenate([np.asarray(c.get_actions(), np.int64) for c in chunks])
        rewards = np.concatenate([np.asarray(c.get_rewards(), np.float32) for c in chunks])
        last_info = episode.get_infos(-1) or {}
        success = bool(last_info.get("success", False)) if spec.reports_success else None
        versions = episode.get_extra_model_outputs(WEIGHTS_SEQ_NO, -1) if len(episode) else None
        self._pending.append(Episode.create(
            obs, actions, rewards,
            env_id=spec.config.id, env_kwargs=spec.config.kwargs,
            seed=int(episode.custom_data[_SEED]),
            collector_id=f"env-runner-{getattr(env_runner, 'worker_index', None) or 0}",
            policy_id=POLICY_ID,
            policy_version=None if versions is None else int(versions),
            memory_version=int(rl_module.memory_version),
            terminated=bool(episode.is_terminated), truncated=bool(episode.is_truncated),
            success=success,
        ))
        if len(self._pending) >= settings.flush_episodes:
            self._flush(settings)

    def on_sample_end(self, *, env_runner: Any = None, **kwargs: Any) -> None:
        settings = _settings(env_runner)
        if settings is not None and self._pending:
            self._flush(settings)

    def _flush(self, settings: SinkSettings) -> None:
        if self._store is None:  # connected in the EnvRunner's own process
            self._store = settings.store.connect()
        waited = 0.0
        while True:
            try:
                self._store.insert(self._pending, timeout_s=settings.insert_timeout_s)
                break
            except RateLimitTimeout:
                # Back-pressure: the MemUP learner has not caught up; inserts repeat safely.
                waited += settings.insert_timeout_s
                if waited >= settings.patience_s:
                    raise RuntimeError(
                        f"the store {settings.store.name!r} refused the policy's episodes for "
                        f"{waited:.0f} s: its rate limiter waits for samples that no one takes "
                        "(is the MemUP learner still running?); raise store.samples_per_insert "
                        "or unset it") from None
        self._pending = []


def _settings(env_runner: Any) -> SinkSettings | None:
    env_config = getattr(getattr(env_runner, "config", None), "env_config", None) or {}
    return env_config.get(SINK_KEY)


def _observations(chunk: Any) -> np.ndarray:
    """o_t of the chunk's own steps (its last observation belongs to the next chunk, or is the
    one after the episode ended)."""
    return np.asarray(chunk.get_observations(slice(0, len(chunk))), np.float32)
