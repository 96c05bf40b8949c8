"""Counter-based randomness: every draw of an episode is a pure function of its episode seed.

The single env and the vector env both derive cue, length and noise from these functions, so a
sub-env of the vector env and a single env given the same episode seed are bit-identical, and an
episode recorded with its seed can be replayed exactly. Everything works on uint64 arrays, which
wrap on overflow as the hash requires.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# Stream offsets k * golden (mod 2^64), precomputed so no scalar multiply overflows.
_CUE_STREAM = np.uint64((1 * 0x9E3779B97F4A7C15) % 2**64)
_LENGTH_STREAM = np.uint64((2 * 0x9E3779B97F4A7C15) % 2**64)
_NOISE_STREAM = np.uint64((3 * 0x9E3779B97F4A7C15) % 2**64)
_TOP_BIT = np.uint64(63)


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective, well-mixed hash of uint64 values."""
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def _stream(seeds: np.ndarray, stream: np.uint64) -> np.ndarray:
    return mix64(seeds.astype(np.uint64) + stream)


def cue_sides(seeds: np.ndarray) -> np.ndarray:
    """0 (left) or 1 (right) for each episode seed, each with probability 1/2."""
    return (_stream(seeds, _CUE_STREAM) >> _TOP_BIT).astype(np.int64)


def extra_lengths(seeds: np.ndarray, length_jitter: int) -> np.ndarray:
    """U in {0..J} for each episode seed (modulo bias below 2^-50 for any sane J)."""
    return (_stream(seeds, _LENGTH_STREAM) % np.uint64(length_jitter + 1)).astype(np.int64)


def noise_keys(seeds: np.ndarray) -> np.ndarray:
    """Per-episode key from which `noise_at` draws the noise of every step."""
    return _stream(seeds, _NOISE_STREAM)


def noise_at(keys: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """±1 float32 noise of step `steps` for episodes with noise keys `keys`."""
    bits = mix64(keys + steps.astype(np.uint64) * _GOLDEN) >> _TOP_BIT
    return bits.astype(np.float32) * np.float32(2.0) - np.float32(1.0)


def draw_episode_seeds(rng: np.random.Generator, count: int) -> np.ndarray:
    """Fresh episode seeds from a numpy generator: an env's `np_random`, or a seeded one for a
    fixed held-out set (phase-I and phase-II evaluation draw theirs here too)."""
    return rng.integers(0, 2**63, size=count, dtype=np.int64).astype(np.uint64)


def starting_seed(rng: np.random.Generator, options: dict | None) -> np.ndarray:
    """[1] the episode seed a single env starts: `options["episode_seed"]` (a replay) or a
    fresh one drawn from `rng`."""
    if options and "episode_seed" in options:
        return np.array([options["episode_seed"]], np.uint64)
    return draw_episode_seeds(rng, 1)
