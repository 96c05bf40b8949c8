"""Log-uniform slot horizons: slots leave their episodes early, U_t still sees the episode end."""

import dataclasses

import numpy as np
import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.inputs.slots import log_uniform_horizons
from learner.memup.training import MemUPTrainer
from memup_module import MemoryConfig

TMAZE = tmaze_spec(300, length_jitter=20)
SMALL = MemUPConfig(batch_slots=16, rollout=4, prefetch_episodes=0, detector_warmup_updates=3,
                    sample_batch=8, context_size=8, predictor_hidden=8, detector_hidden=8,
                    stagger_start=False, memory=MemoryConfig(hidden_size=8, encoder_size=4))
EPISODES = generate_episodes(TMAZE, 32, 0)


def _trainer(**overrides) -> MemUPTrainer:
    return MemUPTrainer(dataclasses.replace(SMALL, **overrides),
                        InMemorySource(EPISODES, seed=1), TMAZE)


def _horizons_and_lengths(trainer: MemUPTrainer) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([e.length for e in trainer.slots.episodes])
    return trainer.slots.lengths.copy(), lengths


def test_episode_horizon_walks_every_slot_to_its_episode_end():
    trainer = _trainer()
    trainer.update()
    horizons, lengths = _horizons_and_lengths(trainer)
    assert np.array_equal(horizons, lengths)


def test_log_uniform_horizons_lie_between_one_rollout_and_the_episode_length():
    trainer = _trainer(slot_horizon="log_uniform")
    for _ in range(60):
        trainer.update()
        horizons, lengths = _horizons_and_lengths(trainer)
        assert ((horizons >= SMALL.rollout) & (horizons <= lengths)).all()
    drawn = log_uniform_horizons([310] * 4000, SMALL.rollout, torch.Generator().manual_seed(0))
    assert drawn.min() >= SMALL.rollout and drawn.max() <= 310
    # log-uniform in [4, 310]: median sqrt(4 x 310) ~ 35, a tenth of the episode
    assert 30 < np.median(drawn) < 41


def test_short_horizons_revisit_episode_starts_more_often():
    whole, early = _trainer(), _trainer(slot_horizon="log_uniform")
    for _ in range(150):
        whole.update()
        early.update()
    assert early.episodes_loaded > 3 * whole.episodes_loaded


def test_targets_beyond_the_horizon_stay_the_episode_end():
    """U_t is the episode's, not the horizon's: with `last` selection every step targets the
    episode's final step, far past where the slot will stop."""
    trainer = _trainer(slot_horizon="log_uniform", target_selection="last", include_self=False)
    trainer.update()
    rollout = trainer.slots.rollout(SMALL.rollout)
    horizons, lengths = _horizons_and_lengths(trainer)
    cut = np.flatnonzero(horizons < lengths - SMALL.rollout)
    assert len(cut)
    valid = rollout.valid[cut]
    assert rollout.target_valid[cut][valid].all()
    final = np.array([trainer.slots.episodes[s].columns.classes[-1] for s in cut])
    targets = rollout.target_classes[cut][..., 0].numpy()
    assert (targets == final[:, None])[valid.numpy()].all()


def test_a_checkpoint_keeps_each_slot_s_horizon(tmp_path):
    original = _trainer(slot_horizon="log_uniform", chunk_steps=64)
    original.train(40)
    path = original.save(tmp_path / "ckpt.pt")
    resumed = _trainer(slot_horizon="log_uniform", chunk_steps=64)
    resumed.restore(path)
    assert np.array_equal(resumed.slots.lengths, original.slots.lengths)
    assert np.array_equal(resumed.slots.episode_lengths, original.slots.episode_lengths)
    original.update()  # (refills after it draw from the source, whose state is not saved)
    resumed.update()
    for p, q in zip(original.memory.parameters(), resumed.memory.parameters()):
        assert torch.equal(p, q)


def test_the_detector_stays_uncertain_at_a_junction_the_slots_rarely_walk():
    """Slots that leave early almost never walk the last step; the detector still learns it
    from U_t, so it stays ~50/50 there (ln 2 = 0.69 nats) and keeps picking it (without the
    U_t steps: 3.8 nats, hit rate 0.41)."""
    trainer = _trainer(slot_horizon="log_uniform", eval_episodes=32, eval_screen_episodes=0)
    trainer.train(1500)
    metrics = trainer.evaluate()
    assert metrics["memup/context_nll"] < 1.2
    assert metrics["memup/detector_hit_rate"] == 1.0
