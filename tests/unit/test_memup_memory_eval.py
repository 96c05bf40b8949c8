"""Held-out evaluation against a per-episode reference, and chunking invariance."""

import pytest
import torch
from torch import nn

import learner.memup.evaluation as evaluation
from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import generate_episodes
from learner.memup.evaluation import HeldOutSet, detector_trace, evaluate
from memup_module import Detector, Memory, MemoryConfig, Predictor, make_codec

CONFIG = MemUPConfig(memory=MemoryConfig(hidden_size=16))
TMAZE = tmaze_spec(15, length_jitter=10)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    codec = make_codec(CONFIG, (-3.0, 0.0, 4.0))
    held_out = HeldOutSet.build(generate_episodes(TMAZE, 40, 7), CONFIG, codec, torch.device("cpu"))
    nets = (Memory(CONFIG.memory), Predictor(CONFIG.memory, 8, 8, 3),
            Detector(CONFIG.memory, 8, 8, 3))
    return held_out, nets, torch.tensor([-3.0, 0.0, 4.0])


def test_accuracy_matches_a_per_episode_reference(setup):
    held_out, (memory, predictor, detector), values = setup
    metrics = evaluate(memory, predictor, detector, held_out, CONFIG, values)
    batch, correct = held_out.batch, 0
    for i, length in enumerate(batch.lengths.tolist()):
        m, _ = memory(batch.x[i:i + 1, :length])
        logits = predictor(m[:, -1], batch.context[i:i + 1, length - 1].unsqueeze(1))
        correct += int(logits.argmax(-1).item() == held_out.last_classes[i].item())
    assert metrics["memup/junction_accuracy"] == pytest.approx(correct / 40)
    assert metrics["memup/eval_episodes"] == 40
    assert 0.0 <= metrics["memup/detector_hit_rate"] <= 1.0


def test_time_chunk_changes_nothing(setup, monkeypatch):
    held_out, nets, values = setup
    whole = evaluate(*nets, held_out, CONFIG, values)
    monkeypatch.setattr(evaluation, "EVAL_TIME_CHUNK", 4)
    chunked = evaluate(*nets, held_out, CONFIG, values)
    for key, value in whole.items():
        assert chunked[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_all_steps_gain_matches_a_per_episode_reference(setup, monkeypatch):
    held_out, (memory, predictor, detector), values = setup
    metrics = evaluate(memory, predictor, detector, held_out, CONFIG, values, junction=False)
    assert "memup/junction_accuracy" not in metrics
    batch, gain, last_gain = held_out.batch, 0.0, 0.0
    for i, length in enumerate(batch.lengths.tolist()):
        m, _ = memory(batch.x[i:i + 1, :length])
        context, classes = batch.context[i, :length], batch.classes[i, :length]
        own = predictor(m[0], context.unsqueeze(1)).squeeze(1)
        local = nn.functional.cross_entropy(detector(context), classes, reduction="none")
        with_memory = nn.functional.cross_entropy(own, classes, reduction="none")
        gain += (local.sum() - with_memory.sum()).item()
        last_gain += (local[-1] - with_memory[-1]).item()
    expected = gain / int(batch.lengths.sum())
    expected_last = last_gain / held_out.num_episodes
    assert metrics["memup/all_steps_gain_nll"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert metrics["memup/last_step_gain_nll"] == pytest.approx(expected_last, rel=1e-4, abs=1e-6)
    monkeypatch.setattr(evaluation, "EVAL_TIME_CHUNK", 4)
    chunked = evaluate(memory, predictor, detector, held_out, CONFIG, values, junction=False)
    assert chunked["memup/all_steps_gain_nll"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert chunked["memup/last_step_gain_nll"] == pytest.approx(expected_last, rel=1e-4, abs=1e-6)


def test_head_is_the_first_episodes(setup):
    held_out, _, _ = setup
    head = held_out.head(5)
    assert head.num_episodes == 5 and head.batch.num_steps == int(held_out.batch.lengths[:5].max())
    assert torch.equal(head.last_classes, held_out.last_classes[:5])
    assert held_out.head(100) is held_out


def test_detector_trace_scores_every_step_of_one_episode(setup):
    held_out, (_, _, detector), values = setup
    trace = detector_trace(detector, held_out, CONFIG, values, index=3)
    length = int(held_out.batch.lengths[3])
    assert len(trace["scores"]) == length and trace["junction"] == length - 1
    assert trace["score"] == "entropy"
    assert trace["episode"] == 3


def test_detector_trace_defaults_to_the_most_uncertain_episode(setup):
    held_out, (_, _, detector), values = setup
    trace = detector_trace(detector, held_out, CONFIG, values)
    peaks = [max(detector_trace(detector, held_out, CONFIG, values, index=i)["scores"])
             for i in range(held_out.num_episodes)]
    assert trace["episode"] == peaks.index(max(peaks))
    assert max(trace["scores"]) == pytest.approx(max(peaks))
