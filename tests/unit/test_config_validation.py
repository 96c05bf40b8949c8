"""The checks every config runs: bools are no numbers, bounds are exact, the field is named."""

import math

import pytest

from envs.validation import require_bool, require_choice, require_int, require_real


class SectionError(ValueError):
    pass


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (lambda: require_int("impala.num_epochs", True, 1), "impala.num_epochs must be an integer"),
        (lambda: require_int("memory.hidden_size", 2.0, 1), "memory.hidden_size must be an integer"),
        (lambda: require_int("seed", -1, 0), "seed must be >= 0, got -1"),
        (lambda: require_real("lr", 0.0, 0.0, 1.0, open_low=True), "lr must be a number in (0.0"),
        (lambda: require_real("gamma", 1.01, 0.0, 1.0), "gamma must be a number in [0.0, 1.0]"),
        (lambda: require_real("reward", math.nan), "reward must be a finite number, got nan"),
        (lambda: require_real("wait_s", 0, 0.0, open_low=True), "wait_s must be a finite number > 0"),
        (lambda: require_real("x", False, -1.0, 1.0), "x must be a number in [-1.0, 1.0]"),
        (lambda: require_bool("noise", 1), "noise must be true or false, got 1"),
        (lambda: require_choice("cell", "rnn", ("lstm", "gru")), "cell must be one of lstm, gru"),
    ],
)
def test_a_bad_value_names_its_field_and_the_allowed_values(check, message):
    with pytest.raises(ValueError) as error:
        check()
    assert message in str(error.value)


def test_good_values_pass_and_a_package_keeps_its_own_error_class():
    require_int("n", 3, 1)
    require_real("lr", 1.0, 0.0, 1.0, open_low=True)
    require_real("low", 0.0, 0.0, 1.0)
    require_bool("flag", False)
    with pytest.raises(SectionError, match="n must be >= 1"):
        require_int("n", 0, 1, error=SectionError)
