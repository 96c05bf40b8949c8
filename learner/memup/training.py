"""Phase-I MemUP training in one process: slots, truncated BPTT, detector alongside.

    trainer = MemUPTrainer(MemUPConfig(), source, env_spec)   # env_spec: RunConfig.env
    result = trainer.train_until()          # until junction_accuracy >= target or the budget
                                            # (any other env: the budget)
    trainer.export_memory("runs/x/memup/memory.pt")

Each `update()`: read the next r steps of all B slots, run the memory from the carried state,
predict every f_k, k ∈ U_t, from m_t and c_k, step Adam on memory + predictor (clipped) and
on the detector (its NLL on the same steps), detach the state, then refill the slots whose
episode ended (state zeroed; detector scores and U_t come with the episode, computed once in a
batched pass by `EpisodeLoader`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from envs import EnvSpec
from learner.memup.checkpoint import load_checkpoint, save_checkpoint
from learner.memup.config import MemUPConfig
from learner.memup.device import available_cores, resolve_device
from learner.memup.inputs.columns import EpisodeColumns
from learner.memup.detector_warmup import distinct_rows, warm_up_detector
from learner.memup.inputs.episodes import (EpisodeLike, EpisodeSource, codec_for,
                                           generate_episodes)
from learner.memup.inputs.loader import EpisodeLoader, StreamedBatch
from learner.memup.eval_beside import Networks, SnapshotEvaluation, round_evaluations
from learner.memup.evaluation import HeldOutSet, detector_trace, evaluate
from learner.memup.inputs.prefetch import Prefetcher
from learner.memup.rollout_losses import rollout_losses
from learner.memup.inputs.slots import SlotBuffer, log_uniform_horizons
from learner.memup.state_refresh import recomputed_states
from learner.memup.inputs.store_source import streaming
from learner.memup.inputs.streamed_columns import ChunkedColumns, ChunkReader, any_columns
from learner.progress import progress_bar
from memup_module import (
    Detector,
    EmaModel,
    Memory,
    Predictor,
    TargetCodec,
    codec_from_plain,
    codec_to_plain,
    save_memory,
    score_block,
    selection_scores,
)

Metrics = dict[str, float]
# Settings a checkpoint's tensors depend on: restoring under different ones cannot work.
_SHAPE_FIELDS = ("memory", "context_size", "predictor_hidden", "predictor_distance",
                 "detector_hidden", "batch_slots", "top_k", "include_self", "target",
                 "num_return_bins", "detector_score")


class MemUPTrainer:
    """Serial MemUP learner; `MemUPLearner` runs the same object inside a Ray actor."""

    def __init__(self, config: MemUPConfig, source: EpisodeSource,
                 env: EnvSpec, *,
                 held_out: Sequence[EpisodeLike] | None = None) -> None:
        memory = config.memory
        if (memory.obs_dim, memory.num_actions) != (env.obs_dim, env.num_actions):
            raise ValueError(
                f"memup.memory reads {memory.obs_dim} observation floats and "
                f"{memory.num_actions} actions, but {env.label} has {env.obs_dim} and "
                f"{env.num_actions}: size the config with `with_env_sizes(config, "
                "spec.obs_dim, spec.num_actions)` (a RunConfig does it)")
        self.env = env
        self.config = config
        self.device = resolve_device(config.device)
        torch.set_num_threads(config.num_threads or available_cores())
        self.codec = codec_for(config, self.env.reward_values, source)
        classes = self.codec.num_classes
        self.class_values = torch.as_tensor(self.codec.decode(np.arange(classes)),
                                            device=self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.memory = Memory(config.memory).to(self.device)
            self.predictor = Predictor(config.memory, config.context_size,
                                       config.predictor_hidden, classes,
                                       config.predictor_distance).to(self.device)
            self.detector = Detector(config.memory, config.context_size,
                                     config.detector_hidden, classes).to(self.device)
        self.ema = (EmaModel(self.memory, self.predictor, config.ema_decay)
                    if config.detector_score == "ema_error" else None)
        self._params = [*self.memory.parameters(), *self.predictor.parameters()]
        self._detector_params = list(self.detector.parameters())
        # One fused Adam over both groups: a single kernel per step (parameters without a
        # gradient, like memory + predictor during the detector warm-up, are skipped).
        self.optimizer = torch.optim.Adam(
            [{"params": self._params, "lr": config.lr},
             {"params": self._detector_params, "lr": config.detector_lr}], fused=True)
        memory_config = config.memory
        self.slots = SlotBuffer(config.batch_slots, memory_config.input_size,
                                memory_config.obs_dim + memory_config.num_actions,
                                config.top_k, config.include_self, config.chunk_steps,
                                self.device)
        self.state = self.memory.initial_state(config.batch_slots, self.device)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.step = self.slot_steps = self.episodes_loaded = 0
        self.started = False
        self._prefetcher: Prefetcher[EpisodeColumns] = Prefetcher(
            streaming(source), self._prepare, config.prefetch_episodes, config.sample_batch)
        self._loader = EpisodeLoader(self._prefetcher, self.device, config.top_k,
                                     config.sample_batch, config.chunk_steps)
        self._held_out_episodes = held_out
        self._held_out: HeldOutSet | None = None
        self._reset_stats()

    # ----------------------------------------------------------------------------- training
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _clip(self, params: list[torch.nn.Parameter]) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip, foreach=True)

    def _prepare(self, episode: EpisodeLike | ChunkReader) -> EpisodeColumns | ChunkedColumns | None:
        return any_columns(episode, self.config, self.codec)

    def _scores(self, batch: StreamedBatch) -> torch.Tensor:
        kind = self.config.detector_score

        def detector_scores() -> torch.Tensor:
            scores = torch.empty(batch.shape, device=self.device)
            state = None
            values = (lambda e: e.values(self.config)) if kind == "ema_error" else None
            for block in batch.blocks(values=values):
                part = slice(block.start, block.start + block.classes.shape[1])
                with self._autocast():
                    scores[:, part], state = score_block(
                        kind, self.detector, block.context, block.classes, block.values,
                        block.x, self.class_values, self.ema, state)
            return scores

        return selection_scores(self.config.target_selection, detector_scores, batch.shape,
                                self.device, self.generator)

    def _load(self, slots: np.ndarray) -> None:
        episodes = self._loader.take(len(slots), self._scores)
        horizons = (None if self.config.slot_horizon == "episode" else log_uniform_horizons(
            [e.length for e in episodes], self.config.rollout, self.generator))
        self.slots.load(slots, episodes, horizons)
        rows = torch.as_tensor(slots, device=self.device)
        for part in self.state:
            part[rows] = 0.0
        self.episodes_loaded += len(slots)

    def _start(self) -> None:
        slots = self.config.batch_slots
        warm_up_detector(self.detector, self.optimizer,
                         distinct_rows(self._loader.prepared(slots), self.device)
                         if self.config.detector_warmup_updates else None,
                         self.config.detector_warmup_updates, self.config.detector_warmup_max_rows,
                         self.generator, self._autocast)
        self._load(np.arange(slots))
        if self.config.stagger_start:
            fraction = torch.rand(slots, generator=self.generator).numpy()
            self.slots.cursors[:] = (fraction * self.slots.lengths).astype(np.int64)
        self.started = True

    def _refill(self) -> None:
        finished = self.slots.finished()
        if len(finished):
            self._load(finished)

    def update(self) -> None:
        """One truncated-BPTT update of memory + predictor and one detector update."""
        if not self.started:
            self._start()
        every = self.config.refresh_states_every
        if every and self.step % every == 0:
            self.state = recomputed_states(self.memory, self.slots, self.state)
        rollout = self.slots.rollout(self.config.rollout)
        with self._autocast():
            loss, detector_loss, state = rollout_losses(
                self.memory, self.predictor, self.detector, rollout, self.state,
                detector_on_targets=self.config.slot_horizon != "episode")
        self.optimizer.zero_grad(set_to_none=True)
        (loss + detector_loss).backward()
        grad_norm = self._clip(self._params)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.memory, self.predictor)
        self.state = tuple(part.detach() for part in state)
        valid_steps = self.slots.steps_left(self.config.rollout)
        self._stats += torch.stack([loss.detach(), detector_loss.detach(), grad_norm.detach()])
        self._stats_updates += 1
        self._stats_steps += valid_steps
        self.slot_steps += valid_steps
        self.slots.advance(self.config.rollout)
        self._refill()
        self.step += 1

    # ------------------------------------------------------------------------------ metrics
    def _reset_stats(self) -> None:
        self._stats = torch.zeros(3, device=self.device)
        self._stats_updates = self._stats_steps = 0
        self._stats_since = time.perf_counter()

    def train_metrics(self) -> Metrics:
        """Means since the last call: losses, grad norm, updates/s and slot-steps/s."""
        elapsed = max(time.perf_counter() - self._stats_since, 1e-9)
        n = max(self._stats_updates, 1)
        loss, detector_loss, grad_norm = (self._stats.cpu() / n).tolist()
        metrics = {
            "memup/loss": loss,
            "memup/detector_loss": detector_loss,
            "memup/grad_norm": grad_norm,
            "memup/updates_per_s": self._stats_updates / elapsed,
            "memup/slot_steps_per_s": self._stats_steps / elapsed,
            **self.counters(),
        }
        self._reset_stats()
        return metrics

    def counters(self) -> Metrics:
        return {"memup/step": self.step, "memup/slot_steps": self.slot_steps,
                "memup/episodes_loaded": self.episodes_loaded}

    def train(self, num_updates: int, progress: bool = False) -> Metrics:
        """`num_updates` updates; returns the training metrics over them."""
        with progress_bar(total=num_updates, desc="memup", unit="upd", enabled=progress) as bar:
            self._train_loop(num_updates, bar)
        return self.train_metrics()

    def _train_loop(self, num_updates: int, bar: Any) -> None:
        for i in range(num_updates):
            self.update()
            bar.update(1)
            if not bar.disable and i % 100 == 99:
                bar.set_postfix(loss=f"{self._stats[0].item() / max(self._stats_updates, 1):.4f}")

    def networks(self) -> Networks:
        return Networks(self.memory, self.predictor, self.detector, self.ema)

    def evaluate(self, num_episodes: int | None = None,
                 networks: Networks | None = None) -> Metrics:
        """Held-out junction accuracy, detector hit rate and losses (never from the store),
        over the first `num_episodes` held-out episodes (all by default), of the trainer's
        networks or of `networks` (a snapshot of them)."""
        start = time.perf_counter()
        nets = networks or self.networks()
        held_out = self._held_out_set()
        held_out = held_out.head(num_episodes or held_out.num_episodes)
        with self._autocast():
            metrics = evaluate(nets.memory, nets.predictor, nets.detector, held_out,
                               self.config, self.class_values, nets.ema,
                               junction=self.env.junction_cue)
        metrics["memup/eval_time_s"] = time.perf_counter() - start
        return {**metrics, **self.counters()}

    def detector_trace(self, episode: int | None = None) -> dict:
        """Uncertainty scores along one held-out episode (`evaluation.detector_trace`)."""
        with self._autocast():
            return detector_trace(self.detector, self._held_out_set(), self.config,
                                  self.class_values, self.ema, episode)

    def train_until(
        self,
        target_accuracy: float | None = None,
        max_updates: int | None = None,
        eval_every: int | None = None,
        callback: Callable[[int, Metrics], None] | None = None,
        progress: bool = True,
    ) -> Metrics:
        """Trains and evaluates every `eval_every` updates until `junction_accuracy` reaches
        `target_accuracy` (the T-Maze; other envs have no such target) or the step count
        reaches `max_updates` (config values by default).
        `callback(step, metrics)` sees each round's training + evaluation metrics."""
        target = self.config.target_accuracy if target_accuracy is None else target_accuracy
        budget = self.config.max_updates if max_updates is None else max_updates
        every = eval_every or self.config.eval_every
        metrics: Metrics = {}
        self._held_out_set()  # built here, not on the evaluation thread
        beside = (SnapshotEvaluation(lambda nets: self.evaluate_networks(nets, target))
                  if self.config.eval_beside_training else None)
        with progress_bar(total=budget, initial=self.step, desc="memup", unit="upd",
                          enabled=progress) as bar, contextlib.ExitStack() as stack:
            if beside is not None:
                stack.callback(beside.close)
            while self.step < budget:
                self._train_loop(min(every, budget - self.step), bar)
                train = self.train_metrics()
                for step, evaluation, snapshot in round_evaluations(
                        self, beside, target, final=self.step >= budget):
                    metrics = {**train, **evaluation}
                    reached = metrics.get("memup/junction_accuracy", -1.0) >= target
                    metrics["memup/reached_target"] = float(reached)
                    bar.set_postfix(acc=f"{metrics.get('memup/junction_accuracy', math.nan):.3f}",
                                    gain=f"{metrics['memup/memory_gain_nll']:.3f}",
                                    loss=f"{metrics['memup/loss']:.4f}")
                    if callback is not None:
                        callback(step, metrics)
                    if reached:
                        if snapshot is not None:  # the evaluated networks, not later ones
                            self.networks().load_from(snapshot)
                            self.step = step
                        return metrics
        return metrics

    def _held_out_set(self) -> HeldOutSet:
        if self._held_out is None:
            episodes = self._held_out_episodes or generate_episodes(
                self.env, self.config.eval_episodes, self.config.eval_seed)
            self._held_out = HeldOutSet.build(episodes, self.config, self.codec, self.device)
        return self._held_out

    def evaluate_networks(self, networks: Networks, target: float) -> Metrics:
        """A round's evaluation: the screening episodes first, all of them once those reach
        `target`."""
        screen = self.config.eval_screen_episodes
        if screen and screen < self._held_out_set().num_episodes:
            metrics = self.evaluate(screen, networks)
            if metrics.get("memup/junction_accuracy", -1.0) < target:
                return metrics
        return self.evaluate(networks=networks)

    # --------------------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Everything the next update depends on, as plain tensors and values."""
        return {
            "config": dataclasses.asdict(self.config),
            "codec": codec_to_plain(self.codec),
            "counters": {"step": self.step, "slot_steps": self.slot_steps,
                         "episodes_loaded": self.episodes_loaded, "started": self.started},
            "memory": self.memory.state_dict(),
            "predictor": self.predictor.state_dict(),
            "detector": self.detector.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "optimizer": self.optimizer.state_dict(),
            "slots": self.slots.state_dict(),
            "memory_state": [part.cpu().clone() for part in self.state],
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # Checkpoints from before a field existed were trained with its default.
        saved = {**dataclasses.asdict(MemUPConfig()), **state["config"]}
        mine = dataclasses.asdict(self.config)
        for field in _SHAPE_FIELDS:
            if saved[field] != mine[field]:
                raise ValueError(f"checkpoint was trained with {field}={saved[field]!r}, this "
                                 f"learner has {mine[field]!r}: use the checkpoint's value")
        if "codec" in state:
            self._restore_codec(codec_from_plain(state["codec"]))
        counters = state["counters"]
        self.step, self.slot_steps = counters["step"], counters["slot_steps"]
        self.episodes_loaded, self.started = counters["episodes_loaded"], counters["started"]
        self.memory.load_state_dict(state["memory"])
        self.predictor.load_state_dict(state["predictor"])
        self.detector.load_state_dict(state["detector"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.slots.load_state_dict(state["slots"])
        self.state = tuple(part.to(self.device) for part in state["memory_state"])
        self.generator.set_state(state["rng"].cpu())
        self._loader.clear()
        self._reset_stats()

    def _restore_codec(self, codec: TargetCodec) -> None:
        """The checkpoint's codec wins (one read off sampled episodes may differ)."""
        if codec.num_classes != self.codec.num_classes:
            raise ValueError(f"checkpoint predicts {codec.num_classes} target classes, this "
                             f"learner {self.codec.num_classes}: start a new run dir")
        self.codec = codec
        self.class_values = torch.as_tensor(codec.decode(np.arange(codec.num_classes)),
                                            device=self.device)
        self._held_out = None

    def save(self, path: str | os.PathLike) -> os.PathLike:
        return save_checkpoint(path, self.state_dict())

    def restore(self, path: str | os.PathLike) -> None:
        self.load_state_dict(load_checkpoint(path, self.device))

    def export_memory(self, path: str | os.PathLike) -> os.PathLike:
        """Writes the `memup-memory/1` file that phase II loads."""
        return save_memory(path, self.memory, self.config.memory, codec_to_plain(self.codec))

    def close(self) -> None:
        """Stops the prefetch thread."""
        self._prefetcher.close()
