"""Refreshed slot states: what the current memory computes over each episode up to the cursor."""

import dataclasses

import pytest
import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.state_refresh import recomputed_states
from learner.memup import training
from learner.memup.training import MemUPTrainer
from memup_module import MemoryConfig

TMAZE = tmaze_spec(300, length_jitter=20)
SMALL = MemUPConfig(batch_slots=12, rollout=4, prefetch_episodes=0, detector_warmup_updates=3,
                    sample_batch=8, context_size=8, predictor_hidden=8, detector_hidden=8,
                    slot_horizon="log_uniform",
                    memory=MemoryConfig(hidden_size=8, encoder_size=4))
EPISODES = generate_episodes(TMAZE, 24, 0)


def _trainer(**overrides) -> MemUPTrainer:
    return MemUPTrainer(dataclasses.replace(SMALL, **overrides),
                        InMemorySource(EPISODES, seed=1), TMAZE)


def _from_the_start(trainer: MemUPTrainer, slot: int) -> tuple[torch.Tensor, ...]:
    cursor = int(trainer.slots.cursors[slot])
    x = torch.from_numpy(trainer.slots.episodes[slot].columns.x(0, cursor)).unsqueeze(0)
    with torch.no_grad():
        _, state = trainer.memory(x)
    return tuple(part[0] for part in state)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_each_live_slot_gets_the_state_of_one_pass_from_its_episode_start(cell):
    trainer = _trainer(memory=MemoryConfig(cell=cell, hidden_size=8, encoder_size=4))
    for _ in range(40):  # carried states drift from what the current weights compute
        trainer.update()
    slots = trainer.slots
    live = [s for s in range(SMALL.batch_slots) if 0 < slots.cursors[s] < slots.lengths[s]]
    assert len(live) >= 3 and len({int(slots.cursors[s]) for s in live}) >= 3
    carried = tuple(part.clone() for part in trainer.state)
    refreshed = recomputed_states(trainer.memory, slots, trainer.state, chunk_steps=16)
    drifted = 0
    for slot in range(SMALL.batch_slots):
        if slot in live:
            expected = _from_the_start(trainer, slot)
            for got, want in zip(refreshed, expected):
                torch.testing.assert_close(got[slot], want, atol=1e-5, rtol=1e-5)
            drifted += not torch.allclose(carried[0][slot], expected[0], atol=1e-4)
        else:  # at step 0 or finished: untouched
            assert all(torch.equal(r[slot], c[slot]) for r, c in zip(refreshed, carried))
    assert drifted, "40 updates of training should have moved some carried state"
    assert all(torch.equal(a, b) for a, b in zip(trainer.state, carried)), "input not modified"


def test_the_trainer_refreshes_every_n_updates_and_rolls_out_from_the_refreshed_states(
        monkeypatch):
    trainer = _trainer(refresh_states_every=10)
    refreshed_at, returned, rolled_from = [], [], []

    def spy(memory, slots, state, *args, **kwargs):
        refreshed_at.append(trainer.step)
        returned.append(recomputed_states(memory, slots, state, *args, **kwargs))
        return returned[-1]

    original = trainer.slots.rollout

    def rollout(length):
        rolled_from.append(trainer.state)
        return original(length)

    monkeypatch.setattr(training, "recomputed_states", spy)
    trainer.slots.rollout = rollout
    for _ in range(25):
        trainer.update()
    assert refreshed_at == [0, 10, 20]
    assert rolled_from[20] is returned[2] and rolled_from[21] is not returned[2]


def test_refresh_states_every_must_be_a_count():
    with pytest.raises(ValueError, match="refresh_states_every"):
        dataclasses.replace(SMALL, refresh_states_every=-1)
    assert dataclasses.replace(SMALL, refresh_states_every=0).refresh_states_every == 0
