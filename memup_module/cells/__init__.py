"""Memory cells (docs/design.md §6): the recurrence inside `Memory`, chosen by `memory.cell`.

    cell = make_cell("gru", input_size=70, hidden_size=256, forget_bias=5.0)

Every cell follows `MemoryCell` (a linear input map, a single step, a whole sequence, a flat
state of [B, size] tensors), so the MemUP trainer, the RLModule, the streaming evaluator and the
online loop take any of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from torch import nn

from memup_module.cells.base import MemoryCell, State, zero_state
from memup_module.cells.indrnn import IndRNNMemoryCell
from memup_module.cells.popgym_models import POPGYM_MODELS, PopgymMemoryCell
from memup_module.cells.rim import RIMMemoryCell
from memup_module.cells.torch_rnn import GRUMemoryCell, LSTMMemoryCell

CELL_CLASSES: dict[str, Callable[[int, int, float], nn.Module]] = {
    "lstm": LSTMMemoryCell,
    "gru": GRUMemoryCell,
    "indrnn": IndRNNMemoryCell,
    "rim": RIMMemoryCell,
    **{name: functools.partial(PopgymMemoryCell, name) for name in POPGYM_MODELS},
}
"""Each `memory.cell` a preset may name -> (input_size, hidden_size, forget_bias) -> cell."""
CELL_NAMES = tuple(CELL_CLASSES)


def make_cell(name: str, input_size: int, hidden_size: int, forget_bias: float) -> nn.Module:
    """A fresh cell of kind `name` (a key of `CELL_CLASSES`)."""
    try:
        cls = CELL_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown memory cell {name!r}; cells that carry a state step by "
                         f"step: {', '.join(CELL_NAMES)}") from None
    return cls(input_size, hidden_size, forget_bias)


__all__ = ["CELL_CLASSES", "CELL_NAMES", "MemoryCell", "State", "make_cell", "zero_state"]
