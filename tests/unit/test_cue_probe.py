"""The linear cue probe: right where the cue is linearly there, chance where it is not."""

from __future__ import annotations

import numpy as np
import pytest

from learner.impala.evaluation.cue_probe import CueProbe, ProbeError


def features(rng: np.random.Generator, sides: np.ndarray, signal: float) -> np.ndarray:
    noise = rng.normal(size=(len(sides), 32))
    noise[:, 3] += signal * (2 * sides - 1)
    return noise


def test_probe_recovers_a_linear_cue_on_held_out_rows():
    rng = np.random.default_rng(0)
    fit_sides, test_sides = rng.integers(0, 2, 256), rng.integers(0, 2, 512)
    probe = CueProbe.fit(features(rng, fit_sides, 4.0), fit_sides)
    assert probe.accuracy(features(rng, test_sides, 4.0), test_sides) > 0.97


def test_probe_scores_chance_when_the_memory_holds_nothing():
    rng = np.random.default_rng(1)
    fit_sides, test_sides = rng.integers(0, 2, 256), rng.integers(0, 2, 2000)
    probe = CueProbe.fit(features(rng, fit_sides, 0.0), fit_sides)
    assert probe.accuracy(features(rng, test_sides, 0.0), test_sides) == pytest.approx(0.5,
                                                                                       abs=0.05)


def test_probe_refuses_a_fit_set_of_one_cue_side():
    with pytest.raises(ProbeError, match="--probe-episodes"):
        CueProbe.fit(np.zeros((4, 3)), np.ones(4, np.int64))
