"""Validated settings of the MemUP networks and their math (docs/design.md §6).

`MemoryConfig` is the memory's architecture (saved in `memory.pt`); `MemUPModelConfig` adds
what the objective predicts, how uncertainty is scored and the other networks' sizes. The
training loop's settings extend it in `learner.memup.MemUPConfig`. Fields hold only ints,
floats, bools, strings, tuples, None and nested dataclasses, so a preset loaded from YAML builds
them from plain dicts and `dataclasses.asdict` round-trips them.
"""

from __future__ import annotations

import dataclasses
import numbers

from envs.validation import require_bool, require_choice, require_int, require_real
from memup_module.cells import CELL_NAMES
from memup_module.cells import rim

CELLS = CELL_NAMES
TARGETS = ("reward", "return")
DETECTOR_SCORES = ("entropy", "surprise", "ema_error")


@dataclasses.dataclass(frozen=True)
class MemoryConfig:
    """The recurrent memory g_θ: Linear(obs→encoder)+ReLU, ⊕ one-hot a_{t-1} ⊕ r_{t-1}, RNN."""

    cell: str = "lstm"
    """Recurrent cell: "lstm" (default), "gru", "indrnn", "rim" or one of POPGym's models
    ("popgym_indrnn", "popgym_lmu", "popgym_fwp", "popgym_linear_attention"); see
    memup_module.cells."""
    hidden_size: int = 256
    """Size H of the memory state m_t."""
    encoder_size: int = 64
    """Width of the observation encoder in front of the cell."""
    obs_dim: int = 3
    """Observation size (3 for the Noisy T-Maze)."""
    num_actions: int = 2
    """Number of discrete actions (one-hot encoded in the memory input)."""
    forget_bias: float = 5.0
    """Added at initialisation to the bias of the LSTM forget gate (GRU: the update gate's, spread
    from 0 on the first unit to this on the last, since that gate also shuts out the input;
    IndRNN: the logit of each unit's recurrent weight), so the cell starts out keeping its state
    (measured: docs/results.md §2, §8)."""

    def __post_init__(self) -> None:
        require_choice("memory.cell", self.cell, CELLS)
        require_real("memory.forget_bias", self.forget_bias, -100.0, 100.0, open_low=False)
        for name in ("hidden_size", "encoder_size", "obs_dim"):
            require_int(f"memory.{name}", getattr(self, name), 1)
        if self.cell == "rim":
            rim.check_hidden_size(self.hidden_size)
        require_int("memory.num_actions", self.num_actions, 2)

    @property
    def input_size(self) -> int:
        """Size of x_t = [o_t, one_hot(a_{t-1}), r_{t-1}]."""
        return self.obs_dim + self.num_actions + 1


@dataclasses.dataclass(frozen=True)
class MemUPModelConfig:
    """What MemUP predicts and scores, and the sizes of its networks (no training loop)."""

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
    context_size: int = 64
    """Output width of the context encoder of (o_t, a_t) used by detector and predictor."""
    predictor_hidden: int = 128
    """Hidden width of the predictor MLP over [m_t, context(k)]."""
    predictor_distance: bool = False
    """Whether the predictor also reads log(1 + k − t), the distance to its target (off: the
    paper's q(f_k | m_t, c_k)); see docs/design.md §6."""
    detector_hidden: int = 64
    """Hidden width of the detector MLP over context(t)."""
    ema_decay: float = 0.995
    """Decay of the EMA copy behind the "ema_error" score."""
    memory: MemoryConfig = dataclasses.field(default_factory=MemoryConfig)
    """The memory's architecture."""

    def __post_init__(self) -> None:
        if isinstance(self.memory, dict):
            object.__setattr__(self, "memory", MemoryConfig(**self.memory))
        if not isinstance(self.memory, MemoryConfig):
            raise ValueError(f"memory must be a MemoryConfig or a mapping, got {self.memory!r}")
        if isinstance(self.return_range, list):
            object.__setattr__(self, "return_range", tuple(self.return_range))
        require_choice("target", self.target, TARGETS)
        require_choice("detector_score", self.detector_score, DETECTOR_SCORES)
        require_real("gamma", self.gamma, 0.0, 1.0)
        require_real("ema_decay", self.ema_decay, 0.0, 1.0)
        require_int("num_return_bins", self.num_return_bins, 2)
        for name in ("top_k", "context_size", "predictor_hidden", "detector_hidden"):
            require_int(name, getattr(self, name), 1)
        require_bool("include_self", self.include_self)
        require_bool("predictor_distance", self.predictor_distance)
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
