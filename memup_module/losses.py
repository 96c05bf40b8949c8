"""Masked negative log-likelihood and the detector's uncertainty scores."""

from __future__ import annotations

import torch


def _clean(logits: torch.Tensor, classes: torch.Tensor, mask: torch.Tensor) -> tuple:
    # Masked entries may hold anything (padding, a finished slot's stale rows, even NaN):
    # replace them before log_softmax so that neither the value nor the gradient sees them.
    logits = torch.where(mask.unsqueeze(-1), logits, torch.zeros((), dtype=logits.dtype,
                                                                   device=logits.device))
    classes = torch.where(mask, classes, torch.zeros((), dtype=classes.dtype,
                                                      device=classes.device))
    return logits, classes


def nll_per_entry(logits: torch.Tensor, classes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """−log softmax(logits)[class] for every entry, 0 where `mask` is False."""
    logits, classes = _clean(logits, classes, mask)
    log_p = torch.log_softmax(logits.float(), dim=-1)
    nll = -log_p.gather(-1, classes.long().unsqueeze(-1)).squeeze(-1)
    return torch.where(mask, nll, torch.zeros((), dtype=nll.dtype, device=nll.device))


def masked_nll(logits: torch.Tensor, classes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean NLL over the entries where `mask` is True (0 when none is).

    logits [..., C], classes [...] (int), mask [...] (bool), any leading shape.
    """
    total = nll_per_entry(logits, classes, mask).sum()
    return total / mask.sum().clamp(min=1).to(total.dtype)


def entropy_score(logits: torch.Tensor) -> torch.Tensor:
    """H(d_ψ(· | c_t)) in nats: the default uncertainty score, an estimate of H(f_t | c_t)."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1)


def surprise_score(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """−log d_ψ(f_t | c_t): how unexpected the target that did happen was."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    return -log_p.gather(-1, classes.long().unsqueeze(-1)).squeeze(-1)


def squared_error_score(
    logits: torch.Tensor, values: torch.Tensor, class_values: torch.Tensor
) -> torch.Tensor:
    """(E_q[f] − f_t)²: the reference code's score, with q an EMA memory + predictor."""
    expected = (torch.softmax(logits.float(), dim=-1) * class_values).sum(dim=-1)
    return (expected - values) ** 2
