"""Detector, predictor and the chunked uncertainty scoring of whole episodes."""

import torch

import memup_module.scoring as scoring
from memup_module import (Detector, EmaModel, Memory, MemoryConfig, Predictor, context_features,
                          score_episodes)

MEMORY = MemoryConfig(hidden_size=16)


def test_context_features_are_obs_and_one_hot_action():
    features = context_features(torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([1]), 2)
    assert features.tolist() == [[1.0, 0.0, -1.0, 0.0, 1.0]]


def test_predictor_scores_every_target_of_every_step():
    predictor = Predictor(MEMORY, context_size=8, hidden=12, classes=3)
    m = torch.randn(4, 5, 16)
    features = torch.randn(4, 5, 2, 5)
    logits = predictor(m, features)
    assert logits.shape == (4, 5, 2, 3)
    # Target j of step t sees m_t and c_j only.
    single = predictor(m[:, :, None].expand(4, 5, 1, 16)[..., 0, :], features[:, :, 1:])
    torch.testing.assert_close(single[:, :, 0], logits[:, :, 1])


def test_a_predictor_with_distance_tells_near_targets_from_far_ones():
    torch.manual_seed(0)
    predictor = Predictor(MEMORY, context_size=8, hidden=12, classes=3, distance=True)
    m, features = torch.randn(4, 16), torch.randn(4, 2, 5)
    own = predictor(m, features, torch.zeros(4, 2))
    torch.testing.assert_close(predictor(m, features), own)  # None: every target is t itself
    far = predictor(m, features, torch.tensor([[0.0, 1000.0]]).expand(4, 2))
    torch.testing.assert_close(far[:, 0], own[:, 0])
    assert not torch.allclose(far[:, 1], own[:, 1])
    blind = Predictor(MEMORY, context_size=8, hidden=12, classes=3)  # the paper's q(f_k|m_t,c_k)
    assert blind(m, features, torch.full((4, 2), 1000.0)).equal(blind(m, features))


def _episodes(n=3, length=50):
    torch.manual_seed(0)
    context = torch.randn(n, length, 5)
    classes = torch.randint(0, 3, (n, length))
    values = torch.tensor([-3.0, 0.0, 4.0])[classes]
    return context, classes, values, torch.randn(n, length, 6)


def test_scores_do_not_depend_on_the_time_chunk(monkeypatch):
    detector = Detector(MEMORY, 8, 8, 3)
    ema = EmaModel(Memory(MEMORY), Predictor(MEMORY, 8, 8, 3), decay=0.995)
    class_values = torch.tensor([-3.0, 0.0, 4.0])
    episodes = _episodes()
    whole = {kind: score_episodes(kind, detector, *episodes, class_values, ema)
             for kind in ("entropy", "surprise", "ema_error")}
    monkeypatch.setattr(scoring, "TIME_CHUNK", 7)
    for kind, expected in whole.items():
        got = score_episodes(kind, detector, *episodes, class_values, ema)
        assert got.shape == (3, 50)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_ema_copy_follows_the_live_networks():
    memory, predictor = Memory(MEMORY), Predictor(MEMORY, 8, 8, 3)
    ema = EmaModel(memory, predictor, decay=0.5)
    ema.update(memory, predictor)  # the first update copies
    with torch.no_grad():
        for p in memory.parameters():
            p.add_(1.0)
    ema.update(memory, predictor)
    first_live = next(memory.parameters())
    first_ema = next(ema.memory.parameters())
    torch.testing.assert_close(first_ema, first_live - 0.5)
