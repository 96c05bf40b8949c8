"""Validated settings of the MemUP memory and of its phase-I training (DESIGN.md §6).

Fields hold only ints, floats, bools, strings, tuples, None and nested dataclasses, so a preset
loaded from YAML builds them from plain dicts and `dataclasses.asdict` round-trips them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

CELLS = ("lstm", "gru")
TARGETS = ("reward", "return")
DETECTOR_SCORES = ("entropy", "surprise", "ema_error")
DEVICES = ("auto", "cpu", "cuda")


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _require_real(name: str, value: object, low: float, high: float, *, open_low: bool) -> None:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)
    inside = ok and (value > low if open_low else value >= low) and value <= high
    if not inside:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must be a number in {bracket}{low}, {high}], got {value!r}")


def _require_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclasses.dataclass(frozen=True)
class MemoryConfig:
    """The recurrent memory g_θ: Linear(obs→encoder)+ReLU, ⊕ one-hot a_{t-1} ⊕ r_{t-1}, RNN."""

    cell: str = "lstm"
    """Recurrent cell: "lstm" (default) or "gru"."""
    hidden_size: int = 256
    """Size H of the memory state m_t."""
    encoder_size: int = 64
    """Width of the observation encoder in front of the cell."""
    obs_dim: int = 3
    """Observation size (3 for the Noisy T-Maze)."""
    num_actions: int = 2
    """Number of discrete actions (one-hot encoded in the memory input)."""
    forget_bias: float = 5.0
    """Added at initialisation to the bias of the LSTM forget gate (GRU: update gate), so the
    cell starts out keeping its state. T-Maze-1000 took a median 2000 updates with 5, 3750
    with 3 and 5000 with PyTorch's default 0 (bench/memup_learner.py, ablations)."""

    def __post_init__(self) -> None:
        _require_choice("memory.cell", self.cell, CELLS)
        _require_real("memory.forget_bias", self.forget_bias, -100.0, 100.0, open_low=False)
        for name in ("hidden_size", "encoder_size", "obs_dim"):
            _require_int(f"memory.{name}", getattr(self, name), 1)
        _require_int("memory.num_actions", self.num_actions, 2)

    @property
    def input_size(self) -> int:
        """Size of x_t = [o_t, one_hot(a_{t-1}), r_{t-1}]."""
        return self.obs_dim + self.num_actions + 1


@dataclasses.dataclass(frozen=True)
class MemUPConfig:
    """Phase-I MemUP pretraining: detector, selector, memory + predictor, loop and evaluation."""

    target: str = "reward"
    """Prediction target f_t: "reward" (r_t, T-Maze default) or "return" (Σ_j γ^j r_{t+j})."""
    gamma: float = 0.99
    """Discount of the "return" target."""
    num_return_bins: int = 51
    """Uniform bins of the "return" target's codec."""
    return_range: tuple[float, float] | None = None
    """(low, high) of the return bins; None derives it from the reward classes."""
    detector_score: str = "entropy"
    """Uncertainty score: "entropy" of d_ψ(·|c_t), "surprise" −log d_ψ(f_t|c_t), or
    "ema_error" (squared error of an EMA copy of memory + predictor, the reference's variant)."""
    top_k: int = 1
    """K: how many most-uncertain future steps each step predicts."""
    include_self: bool = True
    """Whether U_t also holds t itself."""
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
    lr: float = 5e-4
    """Adam learning rate of memory + predictor."""
    detector_lr: float = 1e-3
    """Adam learning rate of the detector."""
    grad_clip: float = 1.0
    """Global gradient-norm clip of memory + predictor."""
    context_size: int = 64
    """Output width of the context encoder of (o_t, a_t) used by detector and predictor."""
    predictor_hidden: int = 128
    """Hidden width of the predictor MLP over [m_t, context(k)]."""
    detector_hidden: int = 64
    """Hidden width of the detector MLP over context(t)."""
    detector_warmup_updates: int = 200
    """Detector-only updates on the first B sampled episodes before any slot is scored (full
    batch over their distinct (context, target) pairs). 200 put U_t of every first slot on the
    junction at L = 100 ... 10 000 in our runs; 100 missed some at L = 10 000."""
    detector_warmup_max_rows: int = 4096
    """Above this many distinct (context, target) pairs the warm-up draws this many steps per
    update instead of taking the full batch."""
    ema_decay: float = 0.995
    """Decay of the EMA copy behind the "ema_error" score."""
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
    device: str = "auto"
    """"auto" (CUDA when present), "cpu" or "cuda"."""
    num_threads: int = 1
    """torch intra-op threads (0: every core the process may run on). 1 by default: on the
    2-core machine a second thread made an update ~25 % faster when the machine was idle but
    2.7x slower as soon as one other process kept a core busy (OpenMP spin-waiting), and the
    free core serves the prefetch thread, collectors and Redis."""
    seed: int = 0
    """Seed of network initialisation and of the trainer's own random draws."""
    memory: MemoryConfig = dataclasses.field(default_factory=MemoryConfig)
    """The memory's architecture."""

    def __post_init__(self) -> None:
        if isinstance(self.memory, dict):
            object.__setattr__(self, "memory", MemoryConfig(**self.memory))
        if not isinstance(self.memory, MemoryConfig):
            raise ValueError(f"memory must be a MemoryConfig or a mapping, got {self.memory!r}")
        if isinstance(self.return_range, list):
            object.__setattr__(self, "return_range", tuple(self.return_range))
        _require_choice("target", self.target, TARGETS)
        _require_choice("detector_score", self.detector_score, DETECTOR_SCORES)
        _require_choice("device", self.device, DEVICES)
        _require_real("gamma", self.gamma, 0.0, 1.0, open_low=False)
        _require_real("lr", self.lr, 0.0, 1.0, open_low=True)
        _require_real("detector_lr", self.detector_lr, 0.0, 1.0, open_low=True)
        _require_real("grad_clip", self.grad_clip, 0.0, math.inf, open_low=True)
        _require_real("ema_decay", self.ema_decay, 0.0, 1.0, open_low=False)
        _require_real("target_accuracy", self.target_accuracy, 0.0, 1.0, open_low=False)
        for name in ("num_return_bins",):
            _require_int(name, getattr(self, name), 2)
        for name in ("top_k", "batch_slots", "rollout", "context_size", "predictor_hidden",
                     "detector_hidden", "detector_warmup_max_rows", "max_updates", "eval_every",
                     "eval_episodes", "sample_batch"):
            _require_int(name, getattr(self, name), 1)
        for name in ("detector_warmup_updates", "checkpoint_every", "prefetch_episodes",
                     "num_threads", "seed", "eval_seed", "eval_screen_episodes"):
            _require_int(name, getattr(self, name), 0)
        for name in ("include_self", "stagger_start"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.return_range is not None:
            low_high = self.return_range
            if (not isinstance(low_high, tuple) or len(low_high) != 2
                    or not all(isinstance(v, numbers.Real) for v in low_high)
                    or not low_high[0] < low_high[1]):
                raise ValueError(
                    f"return_range must be null or [low, high] with low < high, got {low_high!r}"
                )

    @property
    def targets_per_step(self) -> int:
        """|U_t| at most: K selected steps plus t itself when `include_self`."""
        return self.top_k + int(self.include_self)
