"""Prediction targets f_t and the codec that maps them to K classes (DESIGN.md §6)."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from memup_module.config import MemUPModelConfig

_RETURN_BLOCK = 64


class TargetCodec(Protocol):
    """Maps target values to class indices 0..num_classes-1 and back."""

    @property
    def num_classes(self) -> int: ...

    def encode(self, values: np.ndarray) -> np.ndarray: ...

    def decode(self, classes: np.ndarray) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class ExactCodec:
    """One class per value of a finite set, such as the T-Maze rewards {−3, 0, 4}."""

    values: tuple[float, ...]
    tolerance: float = 1e-5

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
        if bad.any():
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


def make_codec(config: MemUPModelConfig, reward_values: tuple[float, ...]) -> TargetCodec:
    """The codec of `config.target` for an env whose rewards take `reward_values` (0 included).

    Without an explicit `return_range` the return bins span [min reward, max reward], exact
    when an episode earns at most one non-zero reward, as in the T-Maze.
    """
    rewards = tuple(float(r) for r in reward_values) + (0.0,)
    if config.target == "reward":
        return ExactCodec(rewards)
    low, high = config.return_range or (min(rewards), max(rewards))
    return BinnedCodec(float(low), float(high), config.num_return_bins)


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
