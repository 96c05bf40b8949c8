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
    """r: steps per slot per update (truncated-BPTT length). Default 1, by measurement
    (bench/memup_learner.py, rollout sweep, 2-core CPU, median wall-clock to junction_accuracy
    0.99): L = 100: 5.5 s at r = 1 against 6.8, 9.4, 10.5 s at r = 2, 4, 8; L = 1000: 11.7 s
    against 12.3, 15.5 s at r = 2, 4. An update costs ~3 ms at r = 1 and the updates needed
    barely fall as r grows. Use r ~ 16 for L ~ 10 000: at r = 1 a slot keeps its episode for
    10 000 updates and the predictor memorised the 64 slot episodes instead of learning to
    carry the cue (the authors use r = 20 at L = 20 000)."""
    stagger_start: bool = True
    """Start the first episode of each slot at a random step, so that the slots do not walk
    their episodes in lockstep (T-Maze-1000: median 2000 updates instead of 3500, bench
    ablations)."""
    slot_horizon: str = "episode"
    """How far a slot walks its episode before it takes the next one: "episode" (to the end)
    or "log_uniform" (to a horizon drawn log-uniformly in [rollout, length]). In a long
    episode the memory learns to write what matters only in the few rollouts near its start;
    log-uniform horizons keep every depth in training but visit the start ln(L / r) times as
    often (T-Maze-100 000 at r = 16: 8.7x), at the same cost per update."""
    lr: float = 5e-4
    """Adam learning rate of memory + predictor."""
    detector_lr: float = 1e-3
    """Adam learning rate of the detector."""
    grad_clip: float = 1.0
    """Global gradient-norm clip of memory + predictor."""
    detector_warmup_updates: int = 200
    """Detector-only updates on the first B sampled episodes before any slot is scored (full
    batch over their distinct (context, target) pairs). 200 put U_t of every first slot on the
    junction at L = 100 ... 10 000 in our runs; 100 missed some at L = 10 000."""
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
    only once they reach the target: evaluation costs O(episodes x T) and dominated the
    wall-clock at L = 1000 otherwise. 0 always evaluates the full set."""
    eval_seed: int = 1_000_003
    """Seed of the held-out episodes."""
    checkpoint_every: int = 1000
    """Updates between learner checkpoints (0 disables them)."""
    prefetch_episodes: int = 64
    """Episodes the background thread keeps ready; 0 samples synchronously (serial mode)."""
    sample_batch: int = 16
    """Episodes per call to the source's `sample`, and per batched detector-scoring pass."""
    chunk_steps: int = 2048
    """Steps per chunk of a slot's episode: a slot keeps on the device only the chunk its
    cursor is in and the next one, and U_t as 2-byte codes per step plus the top K carried
    past each chunk, so the learner's memory depends on B, r and this, never on the episode
    length (docs/design.md §13). A multiple of 64 (the selector's sweep block), >= rollout, at
    most 32768. Training is the same for every value (tested). 2048 by measurement: at
    T-Maze L = 100 000 the B = 64 windows take ~18 MB (4096: ~37 MB) and the learner's peak RSS
    stays within 1.2x of L = 100 (bench/memup_learner.py --memory)."""
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    num_threads: int = 1
    """torch intra-op threads (0: every core the process may run on). 1 by default: on the
    2-core machine a second thread made an update ~25 % faster when the machine was idle but
    2.7x slower as soon as one other process kept a core busy (OpenMP spin-waiting), and the
    free core serves the prefetch thread, collectors and Redis."""
    seed: int = 0
    """Seed of network initialisation and of the trainer's own random draws."""
    target_selection: str = "detector"
    """How U_t's K future steps are chosen: "detector" (MemUP: the most uncertain), "uniform"
    (random future steps) or "last" (the episode's last steps); the other two exist to
    measure what the detector is worth."""

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
                     "num_threads", "seed", "eval_seed", "eval_screen_episodes"):
            require_int(name, getattr(self, name), 0)
        require_bool("stagger_start", self.stagger_start)
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
