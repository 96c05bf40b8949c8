"""The held-out evaluation's confidence figures: Clopper-Pearson lower bounds, episodes needed."""

from __future__ import annotations

import math

import pytest

from learner.impala.evaluation.confidence import episodes_to_show, success_lower_bound
from learner.impala.evaluation.held_out import GreedyResult


def test_all_successes_bound_the_rate_at_alpha_to_the_one_over_n() -> None:
    assert success_lower_bound(200, 200) == pytest.approx(0.05 ** (1 / 200))
    assert success_lower_bound(59, 59) > 0.95 > success_lower_bound(58, 58)
    assert success_lower_bound(0, 10) == 0.0


def test_some_failures_give_the_clopper_pearson_bound() -> None:
    # 9 of 10: the p where P(X >= 9) = 0.05 is 0.6058 (the Beta(9, 2) 5 % quantile).
    bound = success_lower_bound(9, 10)
    assert bound == pytest.approx(0.6058, abs=1e-4)
    assert 10 * bound ** 9 * (1 - bound) + bound ** 10 == pytest.approx(0.05, abs=1e-9)
    assert success_lower_bound(190, 200) < success_lower_bound(199, 200) < 0.05 ** (1 / 200)


def test_episodes_to_show_is_the_fewest_all_successful_episodes() -> None:
    for rate in (0.5, 0.9, 0.95, 0.99):
        n = episodes_to_show(rate)
        assert success_lower_bound(n, n) >= rate > success_lower_bound(n - 1, n - 1)
    assert episodes_to_show(0.95) == 59 and episodes_to_show(0.99, 0.99) == math.ceil(
        math.log(0.01) / math.log(0.99))


@pytest.mark.parametrize(("successes", "episodes"), [(3, 2), (-1, 5), (0, 0)])
def test_impossible_counts_are_refused(successes: int, episodes: int) -> None:
    with pytest.raises(ValueError, match="successes <= episodes"):
        success_lower_bound(successes, episodes)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        episodes_to_show(1.0)


def test_every_evaluation_reports_its_lower_bound() -> None:
    metrics = GreedyResult(success_rate=1.0, mean_return=4.0, episodes=59,
                           env_steps=59 * 100).as_metrics()
    assert metrics["impala/success_lower_bound"] == pytest.approx(0.05 ** (1 / 59))
