"""MemUP on small T-Mazes, end to end in one process: the detector finds the junction and
the memory learns to carry the cue to it."""

import math

import numpy as np

import pytest

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import generated_source
from learner.memup.training import MemUPTrainer


def test_detector_puts_its_top_score_on_the_junction():
    tmaze = tmaze_spec(30)
    trainer = MemUPTrainer(MemUPConfig(eval_episodes=64), generated_source(tmaze, 200, 0), tmaze)
    trainer.train(400)
    metrics = trainer.evaluate()
    trainer.close()
    assert metrics["memup/detector_hit_rate"] == 1.0
    # Only the junction outcome is uncertain given the context: about ln 2 nats there.
    assert metrics["memup/eval_junction_score"] == pytest.approx(math.log(2), abs=0.1)
    slots = trainer.slots
    # Every training slot's first step (scored when loaded) targets its episode's junction.
    for slot in np.flatnonzero(slots.cursors < 20):
        first_target = slots.episodes[slot].targets.resolve(0, 1, 0)[2][0, 0]
        assert first_target == slots.lengths[slot] - 1


def test_tiny_tmaze_is_learned():
    tmaze = tmaze_spec(10)
    config = MemUPConfig(eval_every=50, eval_episodes=200, max_updates=2000, seed=1)
    trainer = MemUPTrainer(config, generated_source(tmaze, 300, 1), tmaze)
    metrics = trainer.train_until(progress=False)
    trainer.close()
    assert metrics["memup/junction_accuracy"] >= 0.99, metrics
    assert metrics["memup/eval_episodes"] == 200
    assert metrics["memup/detector_hit_rate"] == 1.0
    assert trainer.step < 2000
