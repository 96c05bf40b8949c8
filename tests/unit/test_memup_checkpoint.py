"""Checkpoint -> restore -> the next update is bit-identical to an uninterrupted run."""

import dataclasses

import pytest
import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.checkpoint import CheckpointDir, load_checkpoint, save_checkpoint
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.training import MemUPTrainer
from memup_module import MemoryConfig

TMAZE = tmaze_spec(6, length_jitter=4)
SMALL = MemUPConfig(batch_slots=5, rollout=2, prefetch_episodes=0, detector_warmup_updates=3,
                    context_size=8, predictor_hidden=8, detector_hidden=8,
                    memory=MemoryConfig(hidden_size=8, encoder_size=4))


def make_trainer(source_seed: int, **overrides) -> MemUPTrainer:
    config = dataclasses.replace(SMALL, **overrides)
    source = InMemorySource(generate_episodes(TMAZE, 30, 0), seed=source_seed)
    return MemUPTrainer(config, source, TMAZE)


def _everything(trainer: MemUPTrainer) -> dict[str, torch.Tensor]:
    tensors = {f"p{i}": p for i, p in enumerate(
        [*trainer.memory.parameters(), *trainer.predictor.parameters(),
         *trainer.detector.parameters()])}
    for i, state in trainer.optimizer.state_dict()["state"].items():
        tensors.update({f"opt{i}.{k}": v for k, v in state.items()})
    return tensors


@pytest.mark.parametrize("score", ["entropy", "ema_error"])
def test_next_update_after_restore_is_bit_identical(tmp_path, score):
    original = make_trainer(source_seed=1, detector_score=score)
    original.train(9)
    path = original.save(tmp_path / "ckpt.pt")
    original.update()
    expected_loss = original.train_metrics()["memup/loss"]

    # Another seed and another source: everything that matters must come from the file.
    restored = make_trainer(source_seed=2, detector_score=score, seed=99)
    restored.restore(path)
    assert restored.step == 9 and restored.started
    restored.update()
    assert restored.step == original.step == 10
    assert restored.train_metrics()["memup/loss"] == expected_loss
    want, got = _everything(original), _everything(restored)
    assert want.keys() == got.keys()
    for name in want:
        assert torch.equal(want[name], got[name]), name
    assert torch.equal(original.generator.get_state(), restored.generator.get_state())


def test_restore_refuses_a_different_architecture(tmp_path):
    path = make_trainer(1).save(tmp_path / "ckpt.pt")
    other = make_trainer(1, predictor_hidden=16)
    with pytest.raises(ValueError, match="predictor_hidden=8, this learner has 16"):
        other.restore(path)


def test_a_checkpoint_from_before_predictor_distance_restores_with_its_default(tmp_path):
    state = make_trainer(1).state_dict()
    del state["config"]["predictor_distance"]
    save_checkpoint(tmp_path / "old.pt", state)
    make_trainer(1).restore(tmp_path / "old.pt")
    with pytest.raises(ValueError, match="predictor_distance=False, this learner has True"):
        make_trainer(1, predictor_distance=True).restore(tmp_path / "old.pt")


def test_checkpoint_files_are_plain_and_checked(tmp_path):
    save_checkpoint(tmp_path / "a.pt", {"step": 3, "rng": torch.zeros(2, dtype=torch.uint8)})
    assert load_checkpoint(tmp_path / "a.pt")["step"] == 3
    torch.save({"format": "memup-memory/1"}, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="is not a memup-learner-checkpoint/1 file"):
        load_checkpoint(tmp_path / "b.pt")


def test_checkpoint_dir_keeps_the_newest(tmp_path):
    folder = CheckpointDir(tmp_path / "ckpts", keep=2)
    assert folder.latest() is None
    for step in (5, 10, 100):
        folder.save(step, {"step": step})
    assert [p.name for p in folder.all()] == ["ckpt-000000010.pt", "ckpt-000000100.pt"]
    assert load_checkpoint(folder.latest())["step"] == 100
