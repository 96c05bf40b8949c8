"""Truncated BPTT bookkeeping: carried state, resets, and masked slots (serial trainer)."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.inputs.slots import Rollout
from learner.memup.training import MemUPTrainer, rollout_losses
from memup_module import MemoryConfig

TMAZE = tmaze_spec(5, length_jitter=3)
SMALL = MemUPConfig(batch_slots=4, rollout=3, prefetch_episodes=0, detector_warmup_updates=2,
                    stagger_start=False,
                    context_size=8, predictor_hidden=8, detector_hidden=8, eval_episodes=8,
                    memory=MemoryConfig(hidden_size=8, encoder_size=4))


def make_trainer(**overrides) -> MemUPTrainer:
    config = dataclasses.replace(SMALL, **overrides)
    return MemUPTrainer(config, InMemorySource(generate_episodes(TMAZE, 40, 0), seed=1), TMAZE)


class CountingMemory(nn.Module):
    """m_t = [steps seen so far, running sum of the noise observation, 0 ...] (+ carried state).

    An unchunked pass from zero over steps 0..t-1 of an episode gives [t, Σ noise]: a carried
    state equal to that proves the rollout boundaries, detaching and resets line up.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden_size = hidden
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x, state=None):
        batch, steps = x.shape[:2]
        start = state[0] if state is not None else torch.zeros(batch, self.hidden_size)
        m = start.unsqueeze(1).repeat(1, steps, 1)
        m[..., 0] += torch.arange(1, steps + 1, dtype=x.dtype)
        m[..., 1] += x[..., 2].cumsum(1)
        m = m * self.scale
        return m, (m[:, -1],)


def test_carried_state_at_every_rollout_start_equals_an_unchunked_pass():
    trainer = make_trainer()
    counting = CountingMemory(SMALL.memory.hidden_size)
    trainer.memory = counting
    trainer.state = (torch.zeros(SMALL.batch_slots, SMALL.memory.hidden_size),)
    boundaries_crossed = 0
    for _ in range(40):
        trainer.update()
        slots = trainer.slots
        boundaries_crossed += int((slots.cursors == 0).sum())
        for s in range(SMALL.batch_slots):
            cursor = int(slots.cursors[s])
            assert cursor < slots.lengths[s]
            if cursor == 0:
                expected = torch.zeros(SMALL.memory.hidden_size)
            else:
                x = torch.from_numpy(slots.episodes[s].columns.x(0, cursor)).unsqueeze(0)
                expected = counting(x)[1][0][0].detach()
            assert torch.equal(trainer.state[0][s], expected), (s, cursor)
            assert not trainer.state[0].requires_grad
    assert boundaries_crossed > 20  # episodes of 5-8 steps, rollouts of 3: many resets


def _rollout_with_masked_entries(trainer: MemUPTrainer) -> Rollout:
    trainer.update()
    for _ in range(50):
        rollout = trainer.slots.rollout(trainer.config.rollout)
        if not rollout.valid.all():
            return rollout
        trainer.update()
    raise AssertionError("no rollout reached the end of an episode")


def _losses_and_grads(trainer: MemUPTrainer, rollout: Rollout, state):
    modules = (trainer.memory, trainer.predictor, trainer.detector)
    for module in modules:
        module.zero_grad(set_to_none=True)
    loss, detector_loss, _ = rollout_losses(*modules, rollout, state)
    (loss + detector_loss).backward()
    grads = [p.grad.clone() for module in modules for p in module.parameters()]
    return loss.detach(), detector_loss.detach(), grads


def _with_garbage(rollout: Rollout, generator: torch.Generator) -> Rollout:
    def noisy(t, mask):
        garbage = torch.randn(t.shape, generator=generator) * 100 if t.is_floating_point() \
            else torch.randint(0, 3, t.shape, generator=generator)
        while mask.dim() < t.dim():
            mask = mask.unsqueeze(-1)
        return torch.where(mask, t, garbage)

    return dataclasses.replace(
        rollout,
        x=noisy(rollout.x, rollout.valid), context=noisy(rollout.context, rollout.valid),
        classes=noisy(rollout.classes, rollout.valid),
        target_context=noisy(rollout.target_context, rollout.target_valid),
        target_classes=noisy(rollout.target_classes, rollout.target_valid))


def test_padding_steps_change_no_loss_and_no_gradient():
    trainer = make_trainer(rollout=4)
    rollout = _rollout_with_masked_entries(trainer)
    clean = _losses_and_grads(trainer, rollout, trainer.state)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        dirty = _losses_and_grads(trainer, _with_garbage(rollout, generator), trainer.state)
        assert torch.equal(clean[0], dirty[0]) and torch.equal(clean[1], dirty[1])
        assert all(torch.equal(a, b) for a, b in zip(clean[2], dirty[2]))


def test_a_finished_slot_changes_no_loss_and_no_gradient():
    trainer = make_trainer(rollout=4)
    for _ in range(3):
        trainer.update()
    rollout = trainer.slots.rollout(4)
    finished = dataclasses.replace(
        rollout, valid=rollout.valid.clone(), target_valid=rollout.target_valid.clone())
    finished.valid[0] = False  # slot 0 has no step left
    finished.target_valid[0] = False
    keep = torch.arange(1, SMALL.batch_slots)
    without = Rollout(*(getattr(rollout, f.name)[keep] for f in dataclasses.fields(Rollout)))
    with_slot = _losses_and_grads(trainer, _with_garbage(finished, torch.Generator()),
                                  trainer.state)
    alone = _losses_and_grads(trainer, without, tuple(part[keep] for part in trainer.state))
    torch.testing.assert_close(with_slot[0], alone[0], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(with_slot[1], alone[1], rtol=1e-6, atol=1e-7)
    for a, b in zip(with_slot[2], alone[2]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_rollout_gathers_the_slot_steps_and_their_targets():
    trainer = make_trainer(rollout=2)
    trainer.update()
    slots = trainer.slots
    rollout = slots.rollout(2)
    for s in range(SMALL.batch_slots):
        for j in range(2):
            t = int(slots.cursors[s]) + j
            if t >= slots.lengths[s]:
                assert not rollout.valid[s, j] and not rollout.target_valid[s, j].any()
                continue
            columns = slots.episodes[s].columns
            assert torch.equal(rollout.x[s, j], torch.from_numpy(columns.x(t, t + 1)[0]))
            assert torch.equal(rollout.context[s, j], torch.from_numpy(columns.context(t, t + 1)[0]))
            top_k = slots.episodes[s].targets.resolve(t, t + 1, 0)[2][0].tolist()
            for i, k in enumerate(top_k + [t]):  # include_self: t itself last
                assert torch.equal(rollout.target_context[s, j, i],
                                   torch.from_numpy(columns.context(k, k + 1)[0]))
                assert rollout.target_classes[s, j, i] == int(columns.classes[k])
                if rollout.target_valid[s, j, i]:
                    assert rollout.target_distance[s, j, i] == k - t


def test_slot_steps_count_only_real_steps():
    trainer = make_trainer(rollout=4)
    trainer.update()
    for _ in range(10):
        before = trainer.slot_steps
        real = int(np.clip(trainer.slots.lengths - trainer.slots.cursors, 0, 4).sum())
        trainer.update()
        assert trainer.slot_steps - before == real


@pytest.mark.parametrize("score", ["entropy", "surprise", "ema_error"])
def test_every_detector_score_trains(score):
    trainer = make_trainer(detector_score=score)
    trainer.train(5)
    assert trainer.step == 5
    assert np.isfinite(trainer.train_metrics()["memup/loss"])


def test_a_predictor_with_distance_learns_from_the_target_distances():
    trainer = make_trainer(predictor_distance=True, detector_warmup_updates=0)
    before = trainer.predictor.from_distance.weight.detach().clone()
    trainer.train(5)
    assert not torch.equal(trainer.predictor.from_distance.weight, before)
