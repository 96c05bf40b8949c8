"""Evaluation beside training: the same evaluations of the same networks at the same steps as
in line, and the trainer ends on the evaluated networks."""

import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import generated_source
from learner.memup.training import MemUPTrainer

TMAZE = tmaze_spec(10)
KEYS = ("memup/junction_accuracy", "memup/memory_gain_nll", "memup/eval_junction_loss",
        "memup/eval_episodes")


def _run(beside: bool) -> tuple[list[tuple], MemUPTrainer, dict]:
    config = MemUPConfig(eval_every=50, eval_episodes=64, eval_screen_episodes=16,
                         max_updates=2000, seed=1, prefetch_episodes=0,
                         eval_beside_training=beside)
    trainer = MemUPTrainer(config, generated_source(TMAZE, 300, 1), TMAZE)
    rounds: list[tuple] = []
    metrics = trainer.train_until(progress=False, callback=lambda step, m: rounds.append(
        (step, *(m[k] for k in KEYS))))
    trainer.close()
    return rounds, trainer, metrics


def test_beside_training_sees_what_in_line_sees_and_keeps_the_evaluated_memory() -> None:
    in_line, inline_trainer, inline_metrics = _run(beside=False)
    beside, beside_trainer, beside_metrics = _run(beside=True)
    assert inline_metrics["memup/junction_accuracy"] >= 0.99, inline_metrics
    assert beside == in_line
    # It trained one round past the snapshot that reached the target, then returned to it.
    assert beside_trainer.step == inline_trainer.step == in_line[-1][0]
    assert beside_metrics["memup/step"] == inline_trainer.step
    for ours, theirs in zip(beside_trainer.memory.state_dict().values(),
                            inline_trainer.memory.state_dict().values()):
        assert torch.equal(ours, theirs)
    again = beside_trainer.evaluate()
    assert again["memup/junction_accuracy"] == inline_metrics["memup/junction_accuracy"]


def test_the_budget_ends_with_the_last_networks_evaluated() -> None:
    config = MemUPConfig(eval_every=30, eval_episodes=16, max_updates=90, seed=0,
                         prefetch_episodes=0, eval_beside_training=True, target_accuracy=1.0)
    trainer = MemUPTrainer(config, generated_source(tmaze_spec(60), 100, 0), tmaze_spec(60))
    steps: list[int] = []
    metrics = trainer.train_until(progress=False, callback=lambda step, m: steps.append(step))
    trainer.close()
    assert steps == [30, 60, 90] and trainer.step == 90
    assert metrics["memup/step"] == 90
