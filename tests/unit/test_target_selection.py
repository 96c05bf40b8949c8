"""The target-selection switch: detector (MemUP), uniform future steps, or the last step."""

import pytest
import torch

from learner.memup import MemUPConfig
from memup_module import select_targets, selection_scores

SHAPE = torch.Size([2000, 10])
LENGTHS = torch.full((2000,), 10)


def targets(kind: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    scores = selection_scores(kind, lambda: pytest.fail("detector asked"), SHAPE,
                              torch.device("cpu"), generator)
    indices, _ = select_targets(scores, LENGTHS, top_k=1, include_self=False)
    return indices[..., 0]


def test_last_picks_the_episode_end_for_every_step():
    assert (targets("last") == 9).all()


def test_uniform_picks_every_future_step_about_equally_often():
    picked = targets("uniform")[:, 4]  # step 4: steps 4..9 are left
    counts = torch.bincount(picked, minlength=10)[4:].float()
    assert (picked >= 4).all()
    assert (counts / counts.sum() - 1 / 6).abs().max() < 0.04


def test_detector_uses_the_detector_scores():
    scores = torch.zeros(SHAPE)
    scores[:, 7] = 1.0
    out = selection_scores("detector", lambda: scores, SHAPE, torch.device("cpu"))
    indices, _ = select_targets(out, LENGTHS, top_k=1, include_self=False)
    assert (indices[:, :8, 0] == 7).all()


def test_an_unknown_selection_is_a_config_error():
    with pytest.raises(ValueError, match="target_selection"):
        MemUPConfig(target_selection="random")
