"""Target codec round trips and discounted returns against a plain loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learner.memup import MemUPConfig

from memup_module import BinnedCodec, ExactCodec, discounted_returns, make_codec


def test_exact_codec_round_trips_the_tmaze_rewards():
    codec = ExactCodec((4.0, -3.0, 0.0, 0.0))
    assert codec.values == (-3.0, 0.0, 4.0) and codec.num_classes == 3
    values = np.array([0.0, 4.0, -3.0, 0.0], np.float32)
    classes = codec.encode(values)
    assert classes.tolist() == [1, 2, 0, 1]
    np.testing.assert_array_equal(codec.decode(classes), values)


def test_exact_codec_rejects_an_unknown_value():
    with pytest.raises(ValueError, match="none of the codec classes"):
        ExactCodec((-3.0, 0.0, 4.0)).encode(np.array([1.0]))


@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=50))
def test_binned_codec_round_trip_is_within_half_a_bin(values):
    codec = BinnedCodec(-10.0, 10.0, 40)
    decoded = codec.decode(codec.encode(np.array(values)))
    assert np.all(np.abs(decoded - np.array(values)) <= codec.width / 2 + 1e-5)


def test_binned_codec_clips_to_the_end_bins():
    codec = BinnedCodec(0.0, 1.0, 4)
    assert codec.encode(np.array([-5.0, 0.0, 0.99, 1.0, 7.0])).tolist() == [0, 0, 3, 3, 3]


def test_make_codec_follows_the_target():
    rewards = (-3.0, 0.0, 4.0)
    assert make_codec(MemUPConfig(), rewards) == ExactCodec(rewards)
    codec = make_codec(MemUPConfig(target="return", num_return_bins=7), rewards)
    assert codec == BinnedCodec(-3.0, 4.0, 7)


@settings(max_examples=50)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=300), st.floats(0.0, 1.0))
def test_discounted_returns_match_a_backward_loop(rewards, gamma):
    expected, running = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        expected[t] = running
    got = discounted_returns(np.array(rewards, np.float32), gamma)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
