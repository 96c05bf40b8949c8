"""Collector behaviour policies: uniform random and temporally extended random."""

import numpy as np
import pytest

from actors import CollectorConfig
from actors.policies import RepeatedRandomPolicy, UniformRandomPolicy, make_policy


def _runs(actions: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal actions in one maze's action sequence."""
    change = np.flatnonzero(np.diff(actions)) + 1
    return np.diff(np.concatenate([[0], change, [len(actions)]]))


def test_repeat_policy_holds_actions_for_heavy_tailed_runs() -> None:
    policy = RepeatedRandomPolicy(num_actions=4, exponent=1.5, max_repeat=10_000)
    rng = np.random.default_rng(0)
    actions = np.stack([policy.act(np.zeros((8, 3)), rng) for _ in range(20_000)])
    assert actions.shape == (20_000, 8) and set(np.unique(actions)) == {0, 1, 2, 3}
    runs = np.concatenate([_runs(actions[:, i]) for i in range(8)])
    uniform = np.concatenate([_runs(UniformRandomPolicy(4).act(np.zeros((20_000, 3)), rng))])
    # Uniform actions repeat with p = 1/4 (mean run 4/3); held runs are far longer, some very.
    assert uniform.mean() < 1.5 and runs.mean() > 5 and runs.max() > 500
    # Every action is equally likely in the long run (where runs have a finite variance).
    light = RepeatedRandomPolicy(num_actions=4, exponent=3.0)
    actions = np.stack([light.act(np.zeros((64, 3)), rng) for _ in range(5_000)])
    shares = np.bincount(actions.ravel(), minlength=4) / actions.size
    assert np.all(np.abs(shares - 0.25) < 0.03)


def test_repeat_policy_walks_further_than_uniform() -> None:
    """Net displacement of a +-1 walk after 400 steps, over 256 walkers (the detour task's need)."""
    rng = np.random.default_rng(1)
    def spread(policy) -> float:
        steps = np.stack([policy.act(np.zeros((256, 1)), rng) for _ in range(400)])
        return float(np.abs(np.where(steps == 0, -1, 1).sum(axis=0)).mean())
    assert spread(RepeatedRandomPolicy(2, 1.5)) > 3 * spread(UniformRandomPolicy(2))


def test_repeat_policy_is_reproducible_and_named() -> None:
    first, second = RepeatedRandomPolicy(3), RepeatedRandomPolicy(3)
    a = [first.act(np.zeros((4, 2)), np.random.default_rng(5)) for _ in range(1)]
    b = [second.act(np.zeros((4, 2)), np.random.default_rng(5)) for _ in range(1)]
    np.testing.assert_array_equal(a, b)
    assert make_policy("repeat", 3).policy_id == "repeat-random-3"


def test_collector_config_names_the_policies_it_knows() -> None:
    assert CollectorConfig(policy="repeat", repeat_exponent=1.5).policy == "repeat"
    with pytest.raises(ValueError, match="collect.policy"):
        CollectorConfig(policy="greedy")
    with pytest.raises(ValueError, match="collect.repeat_exponent"):
        CollectorConfig(policy="repeat", repeat_exponent=1.0)
