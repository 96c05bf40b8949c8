"""Checks every config dataclass runs in `__post_init__`, with messages that name the field.

It lives in `envs`, the lowest package, and imports only the standard library, so every
package's config (envs, trajectory_store, actors, memup_module, learner) can use it without an
edge against the data flow. `name` is what the user sets ("corridor_length", "impala.lr",
"memory.cell"); `error` lets a package raise its own `ValueError` subclass.

    require_int("memory.hidden_size", value, 1)          # "... must be >= 1, got 0"
    require_real("lr", value, 0.0, 1.0, open_low=True)   # "... must be a number in (0.0, 1.0]"
"""

from __future__ import annotations

import math
import numbers


def is_int(value: object) -> bool:
    """An integer that is not a bool (YAML `true` must not pass for 1)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def is_real(value: object) -> bool:
    """A finite real number that is not a bool."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(value)


def require_int(name: str, value: object, minimum: int, *,
                error: type[ValueError] = ValueError) -> None:
    if not is_int(value):
        raise error(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise error(f"{name} must be >= {minimum}, got {value}")


def require_real(name: str, value: object, low: float = -math.inf, high: float = math.inf, *,
                 open_low: bool = False, error: type[ValueError] = ValueError) -> None:
    """A finite number in [low, high] (in (low, high] with `open_low`)."""
    inside = is_real(value) and (value > low if open_low else value >= low) and value <= high
    if inside:
        return
    if math.isinf(high):
        bound = "" if math.isinf(low) else f" {'>' if open_low else '>='} {low}"
        raise error(f"{name} must be a finite number{bound}, got {value!r}")
    bracket = "(" if open_low else "["
    raise error(f"{name} must be a number in {bracket}{low}, {high}], got {value!r}")


def require_bool(name: str, value: object, *, error: type[ValueError] = ValueError) -> None:
    if not isinstance(value, bool):
        raise error(f"{name} must be true or false, got {value!r}")


def require_choice(name: str, value: object, choices: tuple[str, ...], *,
                   error: type[ValueError] = ValueError) -> None:
    if value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}; got {value!r}")
