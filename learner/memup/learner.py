"""`MemUPLearner`: the phase-I learner as a Ray actor (GPU when the cluster has one).

    learner = start_memup_learner(config, env_spec, StoreHandle(url, name).connect, run)
    ray.get(learner.train_until.remote())             # metrics of the last evaluation
    ray.get(learner.export_memory.remote())           # RunDir.memory (memup/memory.pt)

The class is plain Python, so tests and scripts can also use it without Ray. It owns the run
dir's phase-I files, at the paths `RunDir` names: the checkpoints (every `checkpoint_every`
updates) and the memory file; metrics go to the run's metrics file, to `memup_learner_*` gauges
and, with `progress=True`, to a progress bar. A restarted actor resumes from its newest
checkpoint.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from envs import EnvSpec
from learner.memup.checkpoint import CheckpointDir
from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import EpisodeSource
from learner.memup.training import Metrics, MemUPTrainer
from learner.metrics import MetricsWriter, RayGaugeExporter
from learner.run_dir import RunDir

ACTOR_NAME = "memup-learner"


class MemUPLearner:
    def __init__(self, config: MemUPConfig, env: EnvSpec,
                 source_factory: Callable[[], EpisodeSource], run_dir: RunDir | str | os.PathLike,
                 *, resume: bool = True, progress: bool = False) -> None:
        """`source_factory` builds the episode source inside the actor (a Redis connection
        cannot travel between processes); `resume` restores the newest checkpoint if any."""
        self.run = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
        self.progress = progress
        self.trainer = MemUPTrainer(config, source_factory(), env)
        self.checkpoints = CheckpointDir(self.run.checkpoints)
        self.metrics = MetricsWriter(self.run.metrics)
        self.gauges = RayGaugeExporter("memup_learner")
        latest = self.checkpoints.latest() if resume else None
        if latest is not None:
            self.trainer.restore(latest)
        self._last_checkpoint = self.trainer.step

    @property
    def config(self) -> MemUPConfig:
        return self.trainer.config

    def step(self) -> int:
        """Updates done so far (continues across restores)."""
        return self.trainer.step

    def _record(self, metrics: Metrics) -> Metrics:
        self.metrics.write(self.trainer.step, metrics)
        self.gauges.export(metrics)
        return metrics

    def _maybe_checkpoint(self) -> None:
        every = self.config.checkpoint_every
        if every and self.trainer.step - self._last_checkpoint >= every:
            self.save()

    def train(self, num_updates: int) -> Metrics:
        """`num_updates` updates (checkpointing on the way); the training metrics over them."""
        every, remaining, metrics = self.config.checkpoint_every, num_updates, {}
        while remaining > 0:
            until_checkpoint = every - (self.trainer.step - self._last_checkpoint)
            chunk = min(remaining, max(until_checkpoint, 1)) if every else remaining
            metrics = self._record(self.trainer.train(chunk, progress=self.progress))
            remaining -= chunk
            self._maybe_checkpoint()
        return metrics

    def train_until(self, target_accuracy: float | None = None,
                    max_updates: int | None = None) -> Metrics:
        """Trains until held-out `junction_accuracy` reaches the target or the update budget
        ends (config values by default); returns the last round's metrics."""

        def on_round(step: int, metrics: Metrics) -> None:
            self._record(metrics)
            self._maybe_checkpoint()

        return self.trainer.train_until(target_accuracy, max_updates, callback=on_round,
                                        progress=self.progress)

    def evaluate(self) -> Metrics:
        """Held-out evaluation (junction accuracy, detector hit rate, losses)."""
        return self._record(self.trainer.evaluate())

    def detector_trace(self, episode: int | None = None) -> dict:
        """Uncertainty scores along one held-out episode, for the run report."""
        return self.trainer.detector_trace(episode)

    def save(self) -> str:
        """Writes a checkpoint; returns its path."""
        path = self.checkpoints.save(self.trainer.step, self.trainer.state_dict())
        self._last_checkpoint = self.trainer.step
        return str(path)

    def restore(self, path: str | os.PathLike) -> None:
        """Continues from a checkpoint: step count, weights, optimiser, slots and RNG."""
        self.trainer.restore(path)
        self._last_checkpoint = self.trainer.step

    def export_memory(self, path: str | os.PathLike | None = None) -> str:
        """Writes the memup-memory/1 file (default the run's `RunDir.memory`)."""
        return str(self.trainer.export_memory(path or self.run.memory))

    def memory_weights(self) -> dict[str, np.ndarray]:
        """The memory's weights now, on the CPU: what the online loop publishes to IMPALA."""
        return {name: value.detach().cpu().numpy()
                for name, value in self.trainer.memory.state_dict().items()}

    def close(self) -> None:
        self.trainer.close()
        self.metrics.close()


def learner_actor_options(name: str = ACTOR_NAME, max_restarts: int = 2) -> dict[str, Any]:
    """Ray actor options: one GPU when the cluster has one, else CPU only; on the head when the
    cluster marks one (it writes the run dir, which lives on the driver's node: the head)."""
    import ray

    from actors.placement import head_resources

    cluster = ray.cluster_resources()
    return {"name": name, "num_cpus": 1, "num_gpus": 1 if cluster.get("GPU", 0) >= 1 else 0,
            "resources": head_resources(cluster), "max_restarts": max_restarts}


def start_memup_learner(config: MemUPConfig, env: EnvSpec,
                        source_factory: Callable[[], EpisodeSource],
                        run_dir: RunDir | str | os.PathLike, *, progress: bool = True,
                        **options: Any) -> Any:
    """Starts `MemUPLearner` as a Ray actor; `options` override `learner_actor_options()`."""
    import ray

    actor_options = {**learner_actor_options(), **options}
    return ray.remote(MemUPLearner).options(**actor_options).remote(
        config, env, source_factory, run_dir, progress=progress)
