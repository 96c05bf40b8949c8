"""Uncertainty scores of whole episodes, one batched pass in time chunks (flat memory in T)."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from memup_module.losses import entropy_score, squared_error_score, surprise_score
from memup_module.memory import Memory
from memup_module.networks import Detector, Predictor

TIME_CHUNK = 1024


class EmaModel(nn.Module):
    """EMA copy of memory + predictor (the reference's detector for the "ema_error" score)."""

    def __init__(self, memory: Memory, predictor: Predictor, decay: float) -> None:
        super().__init__()
        pair = nn.ModuleDict({"memory": memory, "predictor": predictor})
        self.average = AveragedModel(pair, multi_avg_fn=get_ema_multi_avg_fn(decay))
        self.average.requires_grad_(False)

    def update(self, memory: Memory, predictor: Predictor) -> None:
        self.average.update_parameters(nn.ModuleDict({"memory": memory, "predictor": predictor}))

    @property
    def memory(self) -> Memory:
        return self.average.module["memory"]

    @property
    def predictor(self) -> Predictor:
        return self.average.module["predictor"]


@torch.no_grad()
def score_block(
    kind: str,
    detector: Detector,
    context: torch.Tensor,
    classes: torch.Tensor,
    values: torch.Tensor | None,
    x: torch.Tensor | None,
    class_values: torch.Tensor,
    ema: EmaModel | None = None,
    state: tuple[torch.Tensor, ...] | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
    """Scores [N, t] of steps start .. start + t - 1 of N padded episodes and the EMA memory
    state after them ("ema_error" carries it from block to block; the others return None)."""
    if kind == "entropy":
        return entropy_score(detector(context)), None
    if kind == "surprise":
        return surprise_score(detector(context), classes), None
    if ema is None:
        raise ValueError('detector_score "ema_error" needs the EMA copy of memory + predictor')
    m, state = ema.memory(x, state)
    logits = ema.predictor(m, context.unsqueeze(-2)).squeeze(-2)
    return squared_error_score(logits, values, class_values), state


@torch.no_grad()
def score_episodes(
    kind: str,
    detector: Detector,
    context: torch.Tensor,
    classes: torch.Tensor,
    values: torch.Tensor,
    x: torch.Tensor,
    class_values: torch.Tensor,
    ema: EmaModel | None = None,
) -> torch.Tensor:
    """Scores [N, T] of padded episodes (context [N, T, F], classes/values [N, T], x [N, T, 6]).

    "entropy" and "surprise" read the detector only; "ema_error" runs the EMA memory from a zero
    state over each episode and scores how badly the EMA predictor predicts f_t from m_t, c_t.
    """
    if kind == "ema_error" and ema is None:
        raise ValueError('detector_score "ema_error" needs the EMA copy of memory + predictor')
    scores = torch.empty(classes.shape, device=classes.device)
    state = None
    for start in range(0, classes.shape[1], TIME_CHUNK):
        part = slice(start, start + TIME_CHUNK)
        scores[:, part], state = score_block(kind, detector, context[:, part], classes[:, part],
                                             values[:, part], x[:, part], class_values, ema,
                                             state)
    return scores
