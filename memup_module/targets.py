"""Prediction targets f_t and the codec that maps them to K classes (docs/design.md §6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from memup_module.config import MemUPModelConfig

_RETURN_BLOCK = 64
MAX_EXACT_CLASSES = 32
"""More distinct rewards than this in a first batch of episodes: the rewards get bins."""


class TargetCodec(Protocol):
    """Maps target values to class indices 0..num_classes-1 and back."""

    @property
    def num_classes(self) -> int: ...

    def encode(self, values: np.ndarray) -> np.ndarray: ...

    def decode(self, classes: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class ExactCodec:
    """One class per value of a finite set, such as the T-Maze rewards {−3, 0, 4}.

    `strict` (a set the env declares) refuses any other value; a set read off a first batch of
    episodes (`strict=False`) maps a value it never saw to the nearest class.
    """

    values: tuple[float, ...]
    tolerance: float = 1e-5
    strict: bool = True

    def __post_init__(self) -> None:
        unique = tuple(sorted({float(v) for v in self.values}))
        if len(unique) < 2:
            raise ValueError(
                f"an exact codec needs at least two distinct values, got {self.values}")
        object.__setattr__(self, "values", unique)

    @property
    def num_classes(self) -> int:
        return len(self.values)

    def encode(self, values: np.ndarray) -> np.ndarray:
        table = np.asarray(self.values, np.float64)
        values = np.asarray(values, np.float64)
        classes = np.abs(values[..., None] - table).argmin(axis=-1)
        bad = np.abs(table[classes] - values) > self.tolerance
        if self.strict and bad.any():
            raise ValueError(
                f"target value {values[bad].flat[0]!r} is none of the codec classes "
                f"{list(self.values)}: build the codec from the env's reward set"
            )
        return classes.astype(np.int64)

    def decode(self, classes: np.ndarray) -> np.ndarray:
        return np.asarray(self.values, np.float32)[np.asarray(classes)]


@dataclasses.dataclass(frozen=True)
class BinnedCodec:
    """`num_bins` uniform bins over [low, high]; values outside are clipped to the end bins."""

    low: float
    high: float
    num_bins: int

    def __post_init__(self) -> None:
        if not self.low < self.high or self.num_bins < 2:
            raise ValueError(f"binned codec needs low < high and >= 2 bins, got {self}")

    @property
    def num_classes(self) -> int:
        return self.num_bins

    @property
    def width(self) -> float:
        return (self.high - self.low) / self.num_bins

    def encode(self, values: np.ndarray) -> np.ndarray:
        scaled = (np.asarray(values, np.float64) - self.low) / self.width
        return np.clip(np.floor(scaled), 0, self.num_bins - 1).astype(np.int64)

    def decode(self, classes: np.ndarray) -> np.ndarray:
        centers = self.low + (np.asarray(classes, np.float64) + 0.5) * self.width
        return centers.astype(np.float32)


def make_codec(config: MemUPModelConfig, reward_values: tuple[float, ...], *,
               declared: bool = True) -> TargetCodec:
    """The codec of `config.target` for an env whose rewards take `reward_values` (0 included):
    the set the env declares (`declared`), or the one seen in a first batch of episodes.

    Without an explicit `return_range` the return bins span [min reward, max reward], exact
    when an episode earns at most one non-zero reward, as in the T-Maze. Too many distinct
    rewards for classes (a continuous reward) get `num_return_bins` bins as well.
    """
    rewards = tuple(float(r) for r in reward_values) + (0.0,)
    distinct = len(set(rewards))
    if config.target == "reward" and distinct <= MAX_EXACT_CLASSES:
        return ExactCodec(rewards, strict=declared)
    if config.target == "reward":
        return BinnedCodec(min(rewards), max(rewards), config.num_return_bins)
    low, high = config.return_range or (min(rewards), max(rewards))
    if config.return_range is None and not declared:
        # Returns sum many rewards: bins over what one episode can plausibly add up to.
        low, high = _return_span(rewards, config.gamma)
    return BinnedCodec(float(low), float(high), config.num_return_bins)


def _return_span(rewards: tuple[float, ...], gamma: float) -> tuple[float, float]:
    horizon = 1.0 / (1.0 - gamma) if gamma < 1.0 else 100.0
    low, high = min(min(rewards), 0.0) * horizon, max(max(rewards), 0.0) * horizon
    return (low, high) if low < high else (low - 1.0, high + 1.0)


def rewards_seen(episodes: Sequence[object], max_values: int = 4 * MAX_EXACT_CLASSES
                 ) -> tuple[float, ...]:
    """The distinct rewards (rounded to 6 decimals) in a batch of episodes, at most
    `max_values` of them spread over their range."""
    values = np.unique(np.round(np.concatenate(
        [np.asarray(e.reward, np.float64) for e in episodes]), 6))
    if len(values) > max_values:
        values = np.quantile(values, np.linspace(0.0, 1.0, max_values))
    return tuple(float(v) for v in values)


def codec_to_plain(codec: TargetCodec) -> dict:
    """The codec as plain values, recorded in `memory.pt`."""
    if isinstance(codec, ExactCodec):
        return {"kind": "exact", "values": list(codec.values), "strict": codec.strict}
    if isinstance(codec, BinnedCodec):
        return {"kind": "binned", "low": codec.low, "high": codec.high,
                "num_bins": codec.num_bins}
    raise TypeError(f"no plain form for codec {codec!r}")


def codec_from_plain(plain: dict) -> TargetCodec:
    if plain.get("kind") == "exact":
        return ExactCodec(tuple(plain["values"]), strict=bool(plain.get("strict", True)))
    if plain.get("kind") == "binned":
        return BinnedCodec(float(plain["low"]), float(plain["high"]), int(plain["num_bins"]))
    raise ValueError(f"unknown target codec {plain!r}")


def discounted_returns(reward: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = Σ_j γ^j r_{t+j} in O(T): blocks of 64 steps, each one small matrix product."""
    reward = np.asarray(reward, np.float64)
    returns = np.zeros_like(reward)
    offsets = np.arange(_RETURN_BLOCK)
    # discount[i, j] = γ^(j-i) for j >= i: the in-block part of G at block row i.
    powers = np.where(offsets[None, :] >= offsets[:, None],
                      float(gamma) ** np.maximum(offsets[None, :] - offsets[:, None], 0), 0.0)
    carry = 0.0
    for end in range(len(reward), 0, -_RETURN_BLOCK):
        start = max(end - _RETURN_BLOCK, 0)
        n = end - start
        block = powers[:n, :n] @ reward[start:end]
        returns[start:end] = block + float(gamma) ** (n - np.arange(n)) * carry
        carry = returns[start]
    return returns.astype(np.float32)


def episode_targets(reward: np.ndarray, target: str, gamma: float) -> np.ndarray:
    """f_t of every step of one episode: r_t, or the discounted return from t."""
    if target == "reward":
        return np.asarray(reward, np.float32)
    return discounted_returns(reward, gamma)
