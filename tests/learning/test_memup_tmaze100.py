"""MemUP learns T-Maze-100: held-out junction accuracy >= 0.99 (make test-slow)."""

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import generated_source
from learner.memup.training import MemUPTrainer


def test_memup_learns_tmaze_100():
    tmaze = tmaze_spec(100)
    config = MemUPConfig(eval_every=100, max_updates=6000)
    trainer = MemUPTrainer(config, generated_source(tmaze, 2000, seed=0), tmaze)
    metrics = trainer.train_until(progress=False)
    trainer.close()
    assert metrics["memup/junction_accuracy"] >= 0.99, metrics
    assert metrics["memup/eval_episodes"] == config.eval_episodes
    assert metrics["memup/detector_hit_rate"] == 1.0
