"""`Episode`: one complete episode as three numpy columns and a read-only metadata mapping.

    ep = Episode.create(obs, action, reward, env_id="memup/NoisyTMaze-v0",
                        env_kwargs={"corridor_length": 100}, seed=7,
                        collector_id="collector-0", policy_id="uniform-random")
    ep.length, ep.obs_dim, ep.episode_id, ep.meta["return"]

Construction validates everything (dtypes, shapes, finiteness, metadata); an episode that exists
is a valid one. Its arrays are read-only views.
"""

from __future__ import annotations

import math
import re
import time
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from trajectory_store.errors import InvalidEpisodeError
from trajectory_store.schema import (
    DTYPES,
    MAX_OBS_DIM,
    META_FIELDS,
    SCHEMA_VERSION,
    plain_value,
    upgrade_meta,
)

DEFAULT_MAX_EPISODE_LENGTH = 100_000
_ID_RE = re.compile(r"[0-9a-f]{32}")
_MAX_TEXT = 256
_SEED_LIMIT = 1 << 64
_MAX_KWARGS_DEPTH = 32


@dataclass(frozen=True, eq=False)
class Episode:
    """A complete episode of T steps: `obs[t]` seen before acting, `action[t]`, then `reward[t]`.

    Attributes:
        obs: float32 [T, obs_dim].
        action: int32 [T].
        reward: float32 [T].
        meta: read-only mapping with exactly the keys of `schema.META_FIELDS`.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    meta: Mapping[str, Any]

    def __post_init__(self) -> None:
        length = _check_columns(self.obs, self.action, self.reward)
        meta = _check_meta(self.meta, length, self.reward)
        object.__setattr__(self, "obs", _read_only(self.obs))
        object.__setattr__(self, "action", _read_only(self.action))
        object.__setattr__(self, "reward", _read_only(self.reward))
        object.__setattr__(self, "meta", types.MappingProxyType(meta))

    @classmethod
    def create(
        cls,
        obs: ArrayLike,
        action: ArrayLike,
        reward: ArrayLike,
        *,
        env_id: str,
        seed: int,
        collector_id: str,
        policy_id: str,
        policy_version: int | None = None,
        memory_version: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        terminated: bool = True,
        truncated: bool = False,
        success: bool | None = None,
        episode_id: str | None = None,
        created_at_ns: int | None = None,
    ) -> Episode:
        """Copies the columns into the schema's dtypes and fills id, length, return and time."""
        obs_arr = np.array(obs, dtype=DTYPES["obs"], copy=True, order="C")
        action_arr = _as_int32(action)
        reward_arr = np.array(reward, dtype=DTYPES["reward"], copy=True)
        meta = {
            "episode_id": episode_id if episode_id is not None else uuid.uuid4().hex,
            "env_id": env_id,
            "env_kwargs": dict(env_kwargs or {}),
            "seed": seed,
            "collector_id": collector_id,
            "policy_id": policy_id,
            "policy_version": policy_version,
            "memory_version": memory_version,
            "length": int(obs_arr.shape[0]) if obs_arr.ndim else 0,
            "return": float(np.sum(reward_arr, dtype=np.float64)),
            "success": success,
            "terminated": terminated,
            "truncated": truncated,
            "created_at_ns": created_at_ns if created_at_ns is not None else time.time_ns(),
            "schema_version": SCHEMA_VERSION,
        }
        return cls(obs_arr, action_arr, reward_arr, meta)

    @property
    def length(self) -> int:
        return int(self.obs.shape[0])

    @property
    def obs_dim(self) -> int:
        return int(self.obs.shape[1])

    @property
    def episode_id(self) -> str:
        return str(self.meta["episode_id"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Episode):
            return NotImplemented
        return (
            np.array_equal(self.obs, other.obs)
            and np.array_equal(self.action, other.action)
            and np.array_equal(self.reward, other.reward)
            and dict(self.meta) == dict(other.meta)
        )

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __reduce__(self) -> tuple[type[Episode], tuple[Any, ...]]:
        # Ray moves episodes between processes with pickle; mappingproxy itself cannot be
        # pickled, so rebuild (and re-validate) from plain values. The store never pickles.
        return (Episode, (self.obs, self.action, self.reward, plain_value(self.meta)))

    def __repr__(self) -> str:
        return (
            f"Episode(id={self.episode_id}, length={self.length}, obs_dim={self.obs_dim}, "
            f"return={self.meta['return']:g}, env_id={self.meta['env_id']!r})"
        )


def validate_episode(ep: object, *, max_length: int = DEFAULT_MAX_EPISODE_LENGTH) -> Episode:
    """Re-checks an episode's values before it is written.

    Its metadata is a private read-only copy and cannot change, but its arrays are views of
    buffers the caller may still write, so finiteness and the return are checked again.
    """
    if not isinstance(ep, Episode):
        raise InvalidEpisodeError(
            f"expected an Episode, got {type(ep).__name__}; build one with Episode.create"
        )
    length = _check_columns(ep.obs, ep.action, ep.reward)
    _check_return(ep.meta["return"], ep.reward)
    if length > max_length:
        raise InvalidEpisodeError(
            f"episode {ep.episode_id} has {length} steps, more than max_episode_length={max_length}; "
            "raise max_episode_length in the store config"
        )
    return ep


def _as_int32(action: ArrayLike) -> np.ndarray:
    arr = np.asarray(action)
    if arr.dtype.kind not in "iu" and arr.size:  # np.asarray([]) is float64
        raise InvalidEpisodeError(f"action must hold integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
        raise InvalidEpisodeError("action values do not fit in int32")
    return np.array(arr, dtype=DTYPES["action"], copy=True)


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _check_columns(obs: object, action: object, reward: object) -> int:
    for name, arr, ndim in (("obs", obs, 2), ("action", action, 1), ("reward", reward, 1)):
        if not isinstance(arr, np.ndarray):
            raise InvalidEpisodeError(f"{name} must be a numpy array, got {type(arr).__name__}")
        if arr.dtype != DTYPES[name]:
            raise InvalidEpisodeError(f"{name} must have dtype {DTYPES[name]}, got {arr.dtype}")
        if arr.ndim != ndim:
            raise InvalidEpisodeError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    assert isinstance(obs, np.ndarray) and isinstance(action, np.ndarray)
    length, obs_dim = obs.shape
    if length < 1:
        raise InvalidEpisodeError(f"an episode needs at least one step, got obs of shape {obs.shape}")
    if not 1 <= obs_dim <= MAX_OBS_DIM:
        raise InvalidEpisodeError(f"obs_dim must be in [1, {MAX_OBS_DIM}], got {obs_dim}")
    if action.shape[0] != length or reward.shape[0] != length:
        raise InvalidEpisodeError(
            f"columns disagree on the length: obs {length}, action {action.shape[0]}, reward {reward.shape[0]}"
        )
    if not np.isfinite(obs).all():
        raise InvalidEpisodeError("obs holds NaN or infinite values")
    if not np.isfinite(reward).all():
        raise InvalidEpisodeError("reward holds NaN or infinite values")
    return int(length)


def check_header_meta(meta: object, length: int) -> dict[str, Any]:
    """`meta` checked as `Episode` checks it, except the return: a reader that streams the
    columns compares it with the rewards once it has seen them all (`check_return`)."""
    return _check_meta(meta, length, None)


def check_return(declared: float, reward_sum: float) -> None:
    _check_return(declared, np.array([reward_sum]))


def _check_meta(meta: object, length: int, reward: np.ndarray | None) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        raise InvalidEpisodeError(f"meta must be a mapping, got {type(meta).__name__}")
    meta = upgrade_meta(meta)
    missing = [k for k in META_FIELDS if k not in meta]
    unknown = sorted(str(k) for k in meta if k not in META_FIELDS)
    if missing or unknown:
        raise InvalidEpisodeError(f"meta keys wrong: missing {missing}, unexpected {unknown[:5]}")
    for key, allowed in META_FIELDS.items():
        value = meta[key]
        # bool is an int in Python; only fields that name bool accept it.
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            names = " or ".join(t.__name__ for t in allowed)
            raise InvalidEpisodeError(f"meta[{key!r}] must be {names}, got {type(value).__name__}")
    out = dict(meta)
    if not _ID_RE.fullmatch(out["episode_id"]):
        raise InvalidEpisodeError(
            f"meta['episode_id'] must be 32 lowercase hex digits (uuid4().hex), got {out['episode_id'][:40]!r}"
        )
    for key in ("env_id", "collector_id", "policy_id"):
        if not 0 < len(out[key]) <= _MAX_TEXT:
            raise InvalidEpisodeError(f"meta[{key!r}] must be a non-empty string of at most {_MAX_TEXT} chars")
    out["env_kwargs"] = types.MappingProxyType(_plain_kwargs(out["env_kwargs"]))
    if not 0 <= out["seed"] < _SEED_LIMIT:
        raise InvalidEpisodeError(f"meta['seed'] must be in [0, 2**64), got {out['seed']}")
    if out["length"] != length:
        raise InvalidEpisodeError(f"meta['length'] is {out['length']} but the columns have {length} rows")
    out["return"] = float(out["return"])
    if reward is not None:
        _check_return(out["return"], reward)
    elif not math.isfinite(out["return"]):
        raise InvalidEpisodeError(f"meta['return'] must be finite, got {out['return']!r}")
    if not (out["terminated"] or out["truncated"]):
        raise InvalidEpisodeError("only complete episodes are stored: set terminated=True or truncated=True")
    for key in ("policy_version", "memory_version"):
        if out[key] is not None and out[key] < 0:
            raise InvalidEpisodeError(f"meta[{key!r}] must be >= 0 or None, got {out[key]}")
    if out["created_at_ns"] < 0:
        raise InvalidEpisodeError(f"meta['created_at_ns'] must be >= 0, got {out['created_at_ns']}")
    if out["schema_version"] != SCHEMA_VERSION:
        raise InvalidEpisodeError(
            f"schema_version {out['schema_version']} is not supported (this code reads {SCHEMA_VERSION})"
        )
    return out


def _check_return(declared: float, reward: np.ndarray) -> None:
    total = float(np.sum(reward, dtype=np.float64))
    if not math.isfinite(declared) or abs(declared - total) > 1e-6 * max(1.0, abs(total)):
        raise InvalidEpisodeError(f"meta['return'] is {declared!r} but the rewards sum to {total!r}")


def _plain_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A private deep copy of env_kwargs holding only JSON values (tuples become lists)."""
    try:
        return _plain_copy(kwargs, depth=0)
    except (TypeError, ValueError) as exc:
        raise InvalidEpisodeError(
            f"meta['env_kwargs'] must hold plain JSON values (str keys; int, float, str, bool, None, "
            f"list, dict): {exc}"
        ) from None


def _plain_copy(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not finite")
        return value
    if depth > _MAX_KWARGS_DEPTH:
        raise ValueError(f"nested deeper than {_MAX_KWARGS_DEPTH} levels")
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("keys must be strings")
        return {k: _plain_copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_copy(v, depth + 1) for v in value]
    raise TypeError(f"{type(value).__name__} is not a JSON value")
