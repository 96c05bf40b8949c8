"""The losses of one MemUP update on a rollout of B slots (docs/design.md §6)."""

from __future__ import annotations

import torch

from learner.memup.inputs.slots import Rollout
from memup_module import Detector, Memory, Predictor, State, masked_nll


def rollout_losses(memory: Memory, predictor: Predictor, detector: Detector, rollout: Rollout,
                   state: State, *, detector_on_targets: bool = False,
                   ) -> tuple[torch.Tensor, torch.Tensor, State]:
    """(memory + predictor NLL over every valid (t, k ∈ U_t), detector NLL over every valid
    step, memory state after the rollout). Masked entries change neither value nor gradient.
    `detector_on_targets` adds the detector's NLL on the U_t steps: slots that leave their
    episodes early never walk the last steps, and a detector that never sees the junction
    grows confidently wrong there instead of uncertain."""
    m, state = memory(rollout.x, state)
    logits = predictor(m, rollout.target_context, rollout.target_distance)
    loss = masked_nll(logits, rollout.target_classes, rollout.target_valid)
    detector_loss = masked_nll(detector(rollout.context), rollout.classes, rollout.valid)
    if detector_on_targets:
        detector_loss = detector_loss + masked_nll(
            detector(rollout.target_context), rollout.target_classes, rollout.target_valid)
    return loss, detector_loss, state
