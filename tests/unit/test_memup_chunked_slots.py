"""Chunked slots: training reads exactly what whole-episode slots read, in bounded memory."""

import dataclasses

import numpy as np
import pytest
import torch

from envs import TMazeConfig
from learner.memup import MemUPConfig
from learner.memup.chunk_targets import encode_targets
from learner.memup.columns import episode_columns
from learner.memup.episodes import InMemorySource, generate_episodes
from learner.memup.slots import Rollout
from learner.memup.trainer import MemUPTrainer
from memup_module import MemoryConfig, make_codec, stream_targets

# Episodes of 150-170 steps: three chunks of 64, one chunk of 4096 (the whole episode).
TMAZE = TMazeConfig(corridor_length=150, length_jitter=20)
SMALL = MemUPConfig(batch_slots=5, rollout=7, prefetch_episodes=0, detector_warmup_updates=3,
                    sample_batch=4, context_size=8, predictor_hidden=8, detector_hidden=8,
                    memory=MemoryConfig(hidden_size=8, encoder_size=4))
EPISODES = generate_episodes(TMAZE, 24, 0)


def _masked(rollout: Rollout) -> dict[str, torch.Tensor]:
    """The rollout with what the losses mask out (steps past an episode's end, invalid
    targets) zeroed: what lies there is arbitrary, and proven irrelevant by the masking tests."""
    def keep(t, mask):
        return torch.where(mask.view(*mask.shape, *[1] * (t.dim() - mask.dim())), t, 0)

    step, target = rollout.valid, rollout.target_valid
    return {"x": keep(rollout.x, step), "valid": step, "context": keep(rollout.context, step),
            "classes": keep(rollout.classes, step), "target_valid": target,
            "target_context": keep(rollout.target_context, target),
            "target_classes": keep(rollout.target_classes, target)}


def _assert_same(a: Rollout, b: Rollout) -> None:
    for (name, x), y in zip(_masked(a).items(), _masked(b).values()):
        assert torch.equal(x, y), name


def _trainer(**overrides) -> MemUPTrainer:
    return MemUPTrainer(dataclasses.replace(SMALL, **overrides),
                        InMemorySource(EPISODES, seed=1), TMAZE)


@pytest.mark.parametrize("settings", [dict(top_k=2), dict(top_k=1),
                                      dict(top_k=3, detector_score="surprise"),
                                      dict(top_k=2, detector_score="ema_error")])
def test_chunked_slot_buffer_yields_exactly_the_rollouts_of_the_whole_episode_one(settings):
    whole, chunked = _trainer(chunk_steps=4096, **settings), _trainer(chunk_steps=64, **settings)
    crossed = 0
    for _ in range(80):
        for trainer in (whole, chunked):
            if not trainer.started:
                trainer._start()
        _assert_same(whole.slots.rollout(SMALL.rollout), chunked.slots.rollout(SMALL.rollout))
        crossed += int((chunked.slots.window_start > 0).sum())
        whole.update()
        chunked.update()
    assert crossed > 0  # slots did move past their first chunk
    for p, q in zip(whole.memory.parameters(), chunked.memory.parameters()):
        assert torch.equal(p, q)


def test_targets_beyond_a_chunk_resolve_through_its_carried_top_k():
    config = dataclasses.replace(SMALL, top_k=3)
    codec = make_codec(config, (-3.0, 0.0, 4.0))
    columns = episode_columns(EPISODES[0], config, codec)
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 4, (columns.length,), generator=generator).float()  # many ties
    scores[-1] = 10.0  # the junction: the target of every step, far ahead
    indices, valid = stream_targets(scores, 3)
    targets = encode_targets(columns, indices.numpy(), valid.numpy(), 64)
    assert targets.codes.dtype == np.uint16 and targets.carry_index.shape == (3, 3)
    _, got_valid, got = targets.resolve(0, columns.length, 0)
    assert np.array_equal(got_valid, valid.numpy()) and np.array_equal(got, indices.numpy())
    assert (targets.carry_index[:-1, 0] == columns.length - 1).all()
    np.testing.assert_array_equal(targets.carry_context[0, 0],
                                  columns.context_at(np.array([columns.length - 1]))[0])


def test_the_window_buffer_stays_two_chunks_long_for_any_episode_length():
    long_maze = TMazeConfig(corridor_length=2000, length_jitter=0)
    trainer = MemUPTrainer(dataclasses.replace(SMALL, chunk_steps=128, stagger_start=True),
                           InMemorySource(generate_episodes(long_maze, 6, 0)), long_maze)
    trainer.train(3)
    assert trainer.slots.capacity == 256 and trainer.slots.x.shape[1] == 256
    trainer.close()


def test_restore_under_another_chunk_size_continues_identically(tmp_path):
    original = _trainer(chunk_steps=64, top_k=2)
    original.train(30)
    path = original.save(tmp_path / "ckpt.pt")
    resumed = _trainer(chunk_steps=128, top_k=2)
    resumed.restore(path)
    _assert_same(original.slots.rollout(SMALL.rollout), resumed.slots.rollout(SMALL.rollout))
    original.update()
    resumed.update()
    for p, q in zip(original.memory.parameters(), resumed.memory.parameters()):
        assert torch.equal(p, q)
