"""Validated settings of phase I: the MemUP networks plus their training loop (docs/design.md §6).

`MemUPConfig` extends `memup_module.MemUPModelConfig` (what the networks predict and their
sizes) with how they are trained: slots, rollout, optimiser, budget, evaluation, checkpoints,
prefetching and device. One flat dataclass, so a preset's `memup:` section sets both at once:

    memup:
      batch_slots: 16        # training loop (this file)
      eval_every: 100
      top_k: 1               # the networks and their math (memup_module/config.py)
      memory: {hidden_size: 64}
"""

from __future__ import annotations

import dataclasses
import math

from envs.validation import require_bool, require_choice, require_int, require_real
from memup_module import TARGET_SELECTIONS, MemUPModelConfig

DEVICES = ("auto", "cpu", "cuda")
SLOT_HORIZONS = ("episode", "log_uniform")


@dataclasses.dataclass(frozen=True)
class MemUPConfig(MemUPModelConfig):
    """Phase-I MemUP pretraining: the networks (inherited), the loop and its evaluation."""

    batch_slots: int = 64
    """B: episodes trained side by side, one per slot."""
    rollout: int = 1
    """r: steps per slot per update (truncated-BPTT length). 1 by measurement; use ~16 for
    episodes of ~10 000 steps and more (docs/results.md §2)."""
    stagger_start: bool = True
    """Start the first episode of each slot at a random step, so that the slots do not walk
    their episodes in lockstep."""
    slot_horizon: str = "episode"
    """How far a slot walks its episode before it takes the next one: "episode" (to the end)
    or "log_uniform" (to a horizon drawn log-uniformly in [rollout, length]; see
    docs/design.md §13)."""
    refresh_states_every: int = 0
    """Every this many updates, each slot's carried memory state is recomputed from its
    episode's start with the current weights (0: never). A state carried for thousands of
    updates drifts from what the memory computes, and the networks fit the slots' answers to
    the drift (docs/design.md §13)."""
    lr: float = 5e-4
    """Adam learning rate of memory + predictor."""
    detector_lr: float = 1e-3
    """Adam learning rate of the detector."""
    grad_clip: float = 1.0
    """Global gradient-norm clip of memory + predictor."""
    detector_warmup_updates: int = 200
    """Detector-only updates on the first B sampled episodes before any slot is scored (full
    batch over their distinct (context, target) pairs)."""
    detector_warmup_max_rows: int = 4096
    """Above this many distinct (context, target) pairs the warm-up draws this many steps per
    update instead of taking the full batch."""
    max_updates: int = 20_000
    """Update budget of `train_until`."""
    target_accuracy: float = 0.99
    """`train_until` stops once evaluation reaches this junction accuracy."""
    eval_every: int = 250
    """Updates between evaluations in `train_until`."""
    eval_episodes: int = 256
    """Held-out episodes per evaluation (generated from `eval_seed`, never from the store)."""
    eval_screen_episodes: int = 32
    """`train_until` first evaluates this many of the held-out episodes and runs the full set
    only once they reach the target; 0 always evaluates the full set."""
    eval_beside_training: bool = False
    """`train_until` evaluates a copy of each round's networks on a second thread while
    training goes on, and decides on it one round later (learner/memup/eval_beside.py): the
    evaluations cost a free core's time instead of the trainer's. Needs that core idle."""
    eval_seed: int = 1_000_003
    """Seed of the held-out episodes."""
    checkpoint_every: int = 1000
    """Updates between learner checkpoints (0 disables them)."""
    prefetch_episodes: int = 64
    """Episodes the background thread keeps ready; 0 samples synchronously (serial mode)."""
    sample_batch: int = 16
    """Episodes per call to the source's `sample`, and per batched detector-scoring pass."""
    chunk_steps: int = 2048
    """Steps per chunk of a slot's episode window (docs/design.md §13): a multiple of 64,
    >= rollout, at most 32768. Training is the same for every value."""
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    num_threads: int = 1
    """torch intra-op threads (0: every core the process may run on); 1 by default
    (docs/results.md §2)."""
    seed: int = 0
    """Seed of network initialisation and of the trainer's own random draws."""
    target_selection: str = "detector"
    """How U_t's K future steps are chosen: "detector" (MemUP: the most uncertain), "uniform"
    (random future steps) or "last" (the episode's last steps)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("device", self.device, DEVICES)
        require_choice("slot_horizon", self.slot_horizon, SLOT_HORIZONS)
        require_choice("target_selection", self.target_selection, TARGET_SELECTIONS)
        require_real("lr", self.lr, 0.0, 1.0, open_low=True)
        require_real("detector_lr", self.detector_lr, 0.0, 1.0, open_low=True)
        require_real("grad_clip", self.grad_clip, 0.0, math.inf, open_low=True)
        require_real("target_accuracy", self.target_accuracy, 0.0, 1.0)
        for name in ("batch_slots", "rollout", "detector_warmup_max_rows", "max_updates",
                     "eval_every", "eval_episodes", "sample_batch"):
            require_int(name, getattr(self, name), 1)
        for name in ("detector_warmup_updates", "checkpoint_every", "prefetch_episodes",
                     "num_threads", "seed", "eval_seed", "eval_screen_episodes",
                     "refresh_states_every"):
            require_int(name, getattr(self, name), 0)
        require_bool("stagger_start", self.stagger_start)
        require_bool("eval_beside_training", self.eval_beside_training)
        require_int("chunk_steps", self.chunk_steps, 64)
        if self.chunk_steps % 64 or self.chunk_steps > 32_768 or self.chunk_steps < self.rollout:
            raise ValueError(f"chunk_steps must be a multiple of 64 in [rollout, 32768], got "
                             f"{self.chunk_steps} (rollout {self.rollout}): use e.g. 2048")


def with_env_sizes(config: MemUPConfig, obs_dim: int, num_actions: int) -> MemUPConfig:
    """The config with the memory's input sized for the env (its flat observation and its
    action count): these follow the env, never a preset."""
    memory = config.memory
    if (memory.obs_dim, memory.num_actions) == (obs_dim, num_actions):
        return config
    sized = dataclasses.replace(memory, obs_dim=obs_dim, num_actions=num_actions)
    return dataclasses.replace(config, memory=sized)
