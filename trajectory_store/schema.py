"""The episode schema, defined once: Arrow types, numpy dtypes and metadata fields derive from here.

One episode of T steps is one Arrow record batch with T rows:
`obs: fixed_size_list<float32>[obs_dim]` (o_t), `action: int32` (a_t), `reward: float32` (r_t).
Episode-level facts live in the schema metadata, one JSON value per key (`META_FIELDS`).
"""

from __future__ import annotations

import functools
import json
import re
import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = 2
"""Version 2 added `policy_version` and `memory_version`; version-1 episodes read as version 2
with both None (`upgrade_meta`)."""
MAX_OBS_DIM = 1 << 16


@functools.lru_cache(maxsize=64)
def arrow_schema(obs_dim: int) -> pa.Schema:
    """The Arrow schema (without metadata) of an episode whose observations have `obs_dim` floats."""
    return pa.schema(
        [
            pa.field("obs", pa.list_(pa.float32(), obs_dim), nullable=False),
            pa.field("action", pa.int32(), nullable=False),
            pa.field("reward", pa.float32(), nullable=False),
        ]
    )


def _leaf_type(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_fixed_size_list(arrow_type) else arrow_type


# Column names and numpy dtypes, derived from the Arrow schema so the two never drift apart.
COLUMNS: tuple[str, ...] = tuple(arrow_schema(1).names)
DTYPES: Mapping[str, np.dtype] = types.MappingProxyType(
    {f.name: np.dtype(_leaf_type(f.type).to_pandas_dtype()) for f in arrow_schema(1)}
)

# Episode metadata: name -> accepted Python types of its (JSON-decoded) value.
META_FIELDS: Mapping[str, tuple[type, ...]] = types.MappingProxyType(
    {
        "episode_id": (str,),
        "env_id": (str,),
        "env_kwargs": (Mapping,),
        "seed": (int,),
        "collector_id": (str,),
        "policy_id": (str,),
        "policy_version": (int, type(None)),
        "memory_version": (int, type(None)),
        "length": (int,),
        "return": (float, int),
        "success": (bool, type(None)),
        "terminated": (bool,),
        "truncated": (bool,),
        "created_at_ns": (int,),
        "schema_version": (int,),
    }
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


# Built once: json.loads/dumps with options construct a new coder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(allow_nan=False, sort_keys=True, separators=(",", ":"))
# Most values are JSON ints or literals; parsing those directly halves the cost of decoding.
_JSON_INT = re.compile(rb"-?(?:0|[1-9][0-9]*)")
_JSON_LITERALS = {b"true": True, b"false": False, b"null": None}
_JSON_PLAIN_STRING = re.compile(rb'"([^"\\\x00-\x1f]*)"')  # no escapes, no control characters


def to_json(value: Any) -> bytes:
    if value is None or isinstance(value, bool):
        return b"null" if value is None else (b"true" if value else b"false")
    if type(value) is int:
        return str(value).encode()
    return _ENCODER.encode(plain_value(value)).encode()


def from_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity); raises ValueError."""
    if raw in _JSON_LITERALS:
        return _JSON_LITERALS[raw]
    if _JSON_INT.fullmatch(raw):
        return int(raw)
    plain = _JSON_PLAIN_STRING.fullmatch(raw)
    if plain:
        return plain.group(1).decode("utf-8")
    return _DECODER.decode(raw.decode("utf-8"))


_ADDED_IN_2 = {"policy_version": None, "memory_version": None}
"""The behaviour's versions: which policy weights (and which pretrained memory, in the online
loop) played the episode; None for a collector's fixed policy."""


def upgrade_meta(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """A version-1 episode's metadata as version 2 (unchanged for anything else)."""
    if meta.get("schema_version") != 1 or any(key in meta for key in _ADDED_IN_2):
        return meta
    return {**meta, **_ADDED_IN_2, "schema_version": SCHEMA_VERSION}


def meta_to_arrow(meta: Mapping[str, Any]) -> dict[bytes, bytes]:
    """Episode metadata -> Arrow schema metadata (one JSON document per key)."""
    return {key.encode(): to_json(meta[key]) for key in META_FIELDS}


def meta_from_arrow(raw: Mapping[bytes, bytes] | None) -> dict[str, Any]:
    """Arrow schema metadata -> plain dict; raises ValueError saying which key is missing or bad."""
    if not raw:
        raise ValueError("the schema carries no episode metadata")
    try:
        keys = {k.decode("utf-8"): v for k, v in raw.items()}
    except UnicodeDecodeError as exc:
        raise ValueError(f"metadata key is not UTF-8 ({exc})") from None
    meta: dict[str, Any] = {}
    for key, value in keys.items():
        try:
            meta[key] = from_json(value)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ValueError(f"metadata {key!r} is not valid JSON ({exc})") from None
    meta = dict(upgrade_meta(meta))
    missing = [k for k in META_FIELDS if k not in meta]
    unknown = sorted(k for k in meta if k not in META_FIELDS)
    if missing or unknown:
        raise ValueError(f"metadata keys wrong: missing {missing}, unexpected {unknown[:5]}")
    return meta


def plain_value(value: Any) -> Any:
    """Read-only mappings (as stored in Episode.meta) back to dicts for JSON."""
    if isinstance(value, Mapping):
        return {k: plain_value(v) for k, v in value.items()}
    return value
