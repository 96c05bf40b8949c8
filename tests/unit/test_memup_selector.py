"""The selector against a brute-force O(T^2) reference."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from memup_module import select_targets, stream_targets, suffix_argmax


def brute_force(scores: list[float], top_k: int) -> list[list[int]]:
    """For each t: the top_k steps k >= t by (float32) score, ties to the earliest step."""
    scores = np.float32(scores).tolist()
    return [sorted(range(t, len(scores)), key=lambda k: (-scores[k], k))[:top_k]
            for t in range(len(scores))]


episode_scores = st.lists(st.sampled_from([0.0, 0.5, 0.69, 1.0, 2.0]) | st.floats(-5, 5),
                          min_size=1, max_size=150)


@settings(max_examples=150, deadline=None)
@given(st.lists(episode_scores, min_size=1, max_size=4))
def test_top1_is_the_earliest_suffix_maximum(episodes):
    length = max(map(len, episodes))
    padded = torch.tensor([e + [99.0] * (length - len(e)) for e in episodes])  # padding ignored
    lengths = torch.tensor([len(e) for e in episodes])
    got = suffix_argmax(padded, lengths)
    for i, episode in enumerate(episodes):
        expected = [best[0] for best in brute_force(episode, 1)]
        assert got[i, :len(episode)].tolist() == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(episode_scores, min_size=1, max_size=3), st.integers(1, 5), st.booleans())
def test_top_k_matches_brute_force(episodes, top_k, include_self):
    length = max(map(len, episodes))
    padded = torch.tensor([e + [99.0] * (length - len(e)) for e in episodes])
    lengths = torch.tensor([len(e) for e in episodes])
    indices, valid = select_targets(padded, lengths, top_k, include_self)
    assert indices.shape == valid.shape == (len(episodes), length, top_k + include_self)
    for i, episode in enumerate(episodes):
        reference = brute_force(episode, top_k)
        as_f32 = np.float32(episode).tolist()
        for t in range(length):
            top = indices[i, t, :top_k][valid[i, t, :top_k]].tolist()
            self_valid = include_self and bool(valid[i, t, top_k])
            if t >= len(episode):
                assert top == [] and not self_valid
                continue
            assert len(top) == len(set(top)) == min(top_k, len(episode) - t)
            assert all(t <= k < len(episode) for k in top)
            # Ties may pick other steps of equal score: compare the selected scores.
            assert sorted(as_f32[k] for k in top) == sorted(as_f32[k] for k in reference[t])
            if include_self:
                assert indices[i, t, top_k] == t and self_valid == (t not in top)


def test_self_column_is_t_and_invalid_when_t_is_already_selected():
    scores = torch.tensor([[0.0, 0.0, 1.0, 0.2]])
    indices, valid = select_targets(scores, torch.tensor([4]), top_k=1, include_self=True)
    assert indices[0, :, 0].tolist() == [2, 2, 2, 3]
    assert indices[0, :, 1].tolist() == [0, 1, 2, 3]
    assert valid[0, :, 1].tolist() == [True, True, False, False]


def test_linear_methods_handle_long_episodes():
    rng = np.random.default_rng(0)
    scores = torch.tensor(rng.normal(size=(2, 20_000)), dtype=torch.float32)
    lengths = torch.tensor([20_000, 12_345])
    top1, _ = select_targets(scores, lengths, 1, False)
    top3, valid3 = select_targets(scores, lengths, 3, False)
    assert torch.equal(top1[0, :, 0], top3[0, :, 0])
    junction = int(lengths[1]) - 1
    assert top1[1, junction, 0].item() == junction and not valid3[1, junction, 1]


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_streamed_targets_equal_the_batched_ones_part_by_part(top_k):
    """Per episode and 64-step parts from the end: the same U_t as the padded batch, ties
    (frequent: equal contexts score equally) broken the same way."""
    generator = torch.Generator().manual_seed(top_k)
    lengths = torch.tensor([1, 63, 64, 65, 200, 333])
    scores = torch.randint(0, 3, (6, 350), generator=generator).float()
    scores[1, :5] = float("nan")
    indices, valid = select_targets(scores, lengths, top_k, include_self=False)
    for i, length in enumerate(lengths.tolist()):
        got, got_valid = stream_targets(scores[i, :length], top_k, sweep_steps=64, horizon=350)
        assert torch.equal(got, indices[i, :length]) and torch.equal(got_valid, valid[i, :length])
