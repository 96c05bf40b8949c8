"""POPGym's own torch memory models (`popgym.baselines.models`, the package's installed code) as
memory cells: IndRNN, LMU, fast weight programmers, linear attention and S4D, each with the
state and sizes POPGym's RLlib wrappers give it (`popgym.baselines.ray_models`).

A POPGym model takes [B, T, F] and its own state structure; `PopgymMemoryCell` puts our linear
input map in front (x_t -> F = H), flattens the model's state parts into [B, size] tensors
(RLlib carries them), and maps a narrower output back to H as POPGym does (`unmap`). Whether a
model carries its state exactly step by step is checked by tests/unit/test_memory_cells.py.
S4D's state is complex; it travels as two real parts. POPGym's RLlib wrapper drops the carried
state in training (it convolves each sequence from zero); here sequences start from it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

import torch
from torch import nn

from memup_module.cells.base import State, input_map

Parts = tuple[torch.Tensor, ...]


@dataclasses.dataclass(frozen=True)
class PopgymModel:
    """How one POPGym model is built and called (following its RLlib wrapper)."""

    build: Callable[[int], nn.Module]
    """hidden size H -> the model (its input is H wide: our input map's output)."""
    width: Callable[[int], int]
    """H -> the model's output width (H, or POPGym's smaller h, mapped back to H)."""
    state_shapes: Callable[[int], tuple[tuple[int, ...], ...]]
    """H -> the shape of each state part, without the batch dimension."""
    call: Callable[[nn.Module, torch.Tensor, Parts], tuple[torch.Tensor, Parts]]
    """(model, x [B, T, H], parts) -> (y [B, T, width], parts after step T-1)."""


def _fwp_h(hidden: int) -> int:
    return round(math.sqrt(hidden))


def _attention_h(hidden: int) -> int:
    return round(math.sqrt(hidden) - 1)


def _indrnn(hidden: int) -> nn.Module:
    from popgym.baselines.models.indrnn import IndRNN
    return IndRNN(hidden, hidden)


def _lmu(hidden: int) -> nn.Module:
    from popgym.baselines.models.lmu import LMU
    # POPGym's defaults (ray_lmu.MODEL_CONFIG): theta 64, A and B fixed.
    return LMU(hidden, hidden, hidden, theta=64, learn_a=False, learn_b=False)


def _fwp(hidden: int) -> nn.Module:
    from popgym.baselines.models.fwp import FWPBlock
    return FWPBlock(hidden, _fwp_h(hidden))


def _linear_attention(hidden: int) -> nn.Module:
    from popgym.baselines.models.linear_attention import LinearAttentionBlock
    return LinearAttentionBlock(hidden, _attention_h(hidden))


def _s4d_n(hidden: int) -> int:
    """POPGym's d_state for width H (ray_s4d.S4D): the kernel keeps N/2 complex modes per unit."""
    return round(math.sqrt(hidden) / 2) * 2


def _drop_speedup_notices(record: logging.LogRecord) -> bool:
    # At import s4d.py warns that optional CUDA/pykeops kernels are missing; its fallbacks are
    # exact, so the notices only alarm users.
    return not record.getMessage().startswith(("CUDA extension", "Falling back"))


def _s4d(hidden: int) -> nn.Module:
    logging.getLogger("popgym.baselines.models.s4d").addFilter(_drop_speedup_notices)
    from popgym.baselines.models.s4d import S4
    return S4(d_model=hidden, d_state=_s4d_n(hidden), mode="diag", measure="diag-lin",
              bidirectional=False, disc="zoh", real_type="exp", transposed=False)


def _call_indrnn(model: nn.Module, x: torch.Tensor, parts: Parts) -> tuple[torch.Tensor, Parts]:
    y, state = model(x, parts[0])
    return y, (state,)


def _call_lmu(model: nn.Module, x: torch.Tensor, parts: Parts) -> tuple[torch.Tensor, Parts]:
    y, (hidden, memory) = model(x, parts)
    return y, (hidden, memory)


def _call_fwp(model: nn.Module, x: torch.Tensor, parts: Parts) -> tuple[torch.Tensor, Parts]:
    y, memory = model(x, parts[0])
    return y, (memory[:, -1:],)


def _call_attention(model: nn.Module, x: torch.Tensor,
                    parts: Parts) -> tuple[torch.Tensor, Parts]:
    y, (s, z) = model(x, list(parts))
    return y, (s[:, -1:], z[:, -1:])


def _call_s4d(model: nn.Module, x: torch.Tensor, parts: Parts) -> tuple[torch.Tensor, Parts]:
    # The complex state travels as its real and imaginary parts (RLlib carries real tensors).
    state = torch.complex(parts[0], parts[1])
    if x.shape[1] > 1:  # POPGym's convolution, from the carried state
        y, state = model(x, state=state)
    else:  # S4.step without its eval-only assert: the MemUP trainer steps in train mode too
        kernel = model.kernel
        kernel._setup_step()  # dA, dB from the current weights
        y, state = kernel.step(x[:, 0], state)
        y = model.activation((y + x[:, 0].unsqueeze(-2) * model.D).flatten(1))
        y = model.output_linear(y).unsqueeze(1)
    return y, (state.real.contiguous(), state.imag.contiguous())


POPGYM_MODELS: dict[str, PopgymModel] = {
    "popgym_indrnn": PopgymModel(_indrnn, lambda h: h, lambda h: ((2, h),), _call_indrnn),
    "popgym_lmu": PopgymModel(_lmu, lambda h: h, lambda h: ((h,), (h,)), _call_lmu),
    "popgym_fwp": PopgymModel(_fwp, _fwp_h, lambda h: ((1, _fwp_h(h), _fwp_h(h)),), _call_fwp),
    "popgym_linear_attention": PopgymModel(
        _linear_attention, _attention_h,
        lambda h: ((1, _attention_h(h), _attention_h(h)), (1, _attention_h(h))),
        _call_attention),
    "popgym_s4d": PopgymModel(_s4d, lambda h: h,
                              lambda h: ((h, _s4d_n(h) // 2), (h, _s4d_n(h) // 2)), _call_s4d),
}


class PopgymMemoryCell(nn.Module):
    """One of `POPGYM_MODELS` behind the `MemoryCell` interface; state parts s0, s1, ..."""

    def __init__(self, name: str, input_size: int, hidden_size: int,
                 forget_bias: float = 0.0) -> None:
        # `forget_bias` does not apply: the models keep POPGym's own initialisation.
        super().__init__()
        self.spec = POPGYM_MODELS[name]
        self.hidden_size = hidden_size
        self._shapes = self.spec.state_shapes(hidden_size)
        self.state_keys = tuple(f"s{i}" for i in range(len(self._shapes)))
        self.weight_ih_l0, self.bias_ih_l0 = input_map(input_size, hidden_size)
        self.model = self.spec.build(hidden_size)
        width = self.spec.width(hidden_size)
        self.unmap = nn.Linear(width, hidden_size) if width != hidden_size else nn.Identity()

    def state_sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(shape) for shape in self._shapes)

    def input_bias(self) -> torch.Tensor:
        return self.bias_ih_l0

    def step(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        m, state = self._run(from_x.unsqueeze(1), state)
        return m[:, 0], state

    def sequence(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        from_x = nn.functional.linear(inputs, self.weight_ih_l0, self.bias_ih_l0)
        return self._run(from_x, state)

    def _run(self, from_x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        batch = from_x.shape[0]
        with torch.autocast(from_x.device.type, enabled=False):
            parts = tuple(flat.float().reshape(batch, *shape)
                          for flat, shape in zip(state, self._shapes))
            y, parts = self.spec.call(self.model, from_x.float(), parts)
            m = self.unmap(y)
        return m, tuple(part.reshape(batch, -1) for part in parts)
