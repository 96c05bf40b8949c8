"""NLL losses and uncertainty scores: pinned values, a numpy reference, masking invariance."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from memup_module import entropy_score, masked_nll, squared_error_score, surprise_score


def test_masked_nll_pinned_on_a_hand_made_batch():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    classes = torch.tensor([0, 2, 2])
    mask = torch.tensor([True, True, False])
    expected = (math.log(2) + math.log(4)) / 2
    assert masked_nll(logits, classes, mask).item() == pytest.approx(expected)


def test_masked_nll_of_nothing_is_zero():
    logits = torch.randn(4, 3)
    nothing = torch.zeros(4, dtype=torch.bool)
    assert masked_nll(logits, torch.zeros(4, dtype=torch.long), nothing) == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_masked_nll_matches_numpy(rows, k, classes_n, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, 3, k, classes_n)) * 3
    classes = rng.integers(0, classes_n, size=(rows, 3, k))
    mask = rng.random((rows, 3, k)) < 0.7
    top = logits.max(-1, keepdims=True)
    log_p = logits - (top + np.log(np.exp(logits - top).sum(-1, keepdims=True)))
    nll = -np.take_along_axis(log_p, classes[..., None], -1)[..., 0]
    expected = (nll * mask).sum() / max(mask.sum(), 1)
    got = masked_nll(torch.tensor(logits, dtype=torch.float32), torch.tensor(classes),
                     torch.tensor(mask))
    assert abs(got.item() - expected) < 1e-4 * max(1.0, abs(expected))


def test_masked_entries_change_neither_loss_nor_gradient():
    torch.manual_seed(0)
    base = torch.randn(6, 2, 3)
    classes = torch.randint(0, 3, (6, 2))
    mask = torch.tensor([[1, 1], [1, 0], [0, 0], [1, 1], [0, 1], [1, 0]], dtype=torch.bool)

    def loss_and_grad(fill_logit: float, fill_class: int):
        logits = base.clone()
        logits[~mask] = fill_logit
        garbage = classes.clone()
        garbage[~mask] = fill_class
        logits.requires_grad_(True)
        loss = masked_nll(logits, garbage, mask)
        loss.backward()
        return loss.detach(), logits.grad

    clean_loss, clean_grad = loss_and_grad(0.0, 0)
    for fill_logit, fill_class in [(float("nan"), -1), (1e30, 99), (-float("inf"), 2)]:
        loss, grad = loss_and_grad(fill_logit, fill_class)
        assert torch.equal(loss, clean_loss)
        assert torch.equal(grad, clean_grad)
    assert torch.all(clean_grad[~mask] == 0)


def test_scores_pinned():
    uniform = torch.zeros(3)
    assert entropy_score(uniform).item() == pytest.approx(math.log(3))
    certain = torch.tensor([0.0, 50.0, 0.0])
    assert entropy_score(certain).item() < 1e-12
    half = torch.log(torch.tensor([0.5, 1e-9, 0.5]))
    assert entropy_score(half).item() == pytest.approx(math.log(2))
    assert surprise_score(half, torch.tensor(0)).item() == pytest.approx(math.log(2))
    values = torch.tensor([-3.0, 0.0, 4.0])
    # Expected value 0.5 * -3 + 0.5 * 4 = 0.5; the junction paid 4.
    assert squared_error_score(half, torch.tensor(4.0), values).item() == pytest.approx(12.25)
