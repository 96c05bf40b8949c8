"""Episodes <-> a Parquet file with one row per step (for pandas, DuckDB, offline evaluation).

Columns: `episode_id`, `t`, then the episode columns (`obs`, `action`, `reward`), then one column
per metadata field repeated on every row of its episode (Parquet's dictionary and run-length
encoding make the repeats nearly free). `env_kwargs` is a JSON string.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trajectory_store.episode import Episode
from trajectory_store.schema import META_FIELDS, arrow_schema, plain_value

_EPISODES_PER_WRITE = 256
_META_COLUMNS = [k for k in META_FIELDS if k != "episode_id"]  # episode_id is the leading column
_ARROW_META_TYPE = {  # seed spans the whole uint64 range; everything else is a plain scalar
    "env_id": pa.string(),
    "env_kwargs": pa.string(),
    "seed": pa.uint64(),
    "collector_id": pa.string(),
    "policy_id": pa.string(),
    "policy_version": pa.int64(),
    "memory_version": pa.int64(),
    "length": pa.int64(),
    "return": pa.float64(),
    "success": pa.bool_(),
    "terminated": pa.bool_(),
    "truncated": pa.bool_(),
    "created_at_ns": pa.int64(),
    "schema_version": pa.int32(),
}
_NULLABLE = {"success", "policy_version", "memory_version"}
assert set(_ARROW_META_TYPE) == set(_META_COLUMNS), "export.py must follow schema.META_FIELDS"


def parquet_schema(obs_dim: int) -> pa.Schema:
    fields = [pa.field("episode_id", pa.string(), nullable=False), pa.field("t", pa.int32(), nullable=False)]
    fields += list(arrow_schema(obs_dim))
    fields += [pa.field(k, _ARROW_META_TYPE[k], nullable=k in _NULLABLE) for k in _META_COLUMNS]
    return pa.schema(fields)


def write_parquet(episodes: Iterable[Episode], path: str | os.PathLike[str]) -> int:
    """Writes `episodes` to `path` (Parquet, zstd); returns how many were written."""
    writer: pq.ParquetWriter | None = None
    count = 0
    try:
        for chunk in _chunks(episodes, _EPISODES_PER_WRITE):
            if writer is None:
                writer = pq.ParquetWriter(path, parquet_schema(chunk[0].obs_dim), compression="zstd")
            writer.write_table(_table(chunk, writer.schema))
            count += len(chunk)
        if writer is None:  # nothing to export: still leave a valid, empty file
            writer = pq.ParquetWriter(path, parquet_schema(1), compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return count


def read_parquet_episodes(path: str | os.PathLike[str]) -> Iterator[Episode]:
    """The episodes of a file written by `write_parquet`, validated, in file order."""
    table = pq.read_table(path)
    ids = table.column("episode_id").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(ids)].astype(np.int64)
    for start, end in zip(starts.tolist(), ends.tolist()):
        rows = table.slice(start, end - start).combine_chunks()
        # A file written before schema 2 lacks the version columns: `Episode` upgrades it.
        meta = {k: rows.column(k)[0].as_py() for k in META_FIELDS if k in rows.column_names}
        meta["env_kwargs"] = json.loads(meta["env_kwargs"])
        obs = rows.column("obs").chunk(0)
        yield Episode(
            obs.flatten().to_numpy().reshape(len(obs), obs.type.list_size),
            rows.column("action").to_numpy(),
            rows.column("reward").to_numpy(),
            meta,
        )


def _chunks(episodes: Iterable[Episode], size: int) -> Iterator[list[Episode]]:
    chunk: list[Episode] = []
    for ep in episodes:
        chunk.append(ep)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _table(episodes: list[Episode], schema: pa.Schema) -> pa.Table:
    obs_dim = schema.field("obs").type.list_size
    if any(ep.obs_dim != obs_dim for ep in episodes):
        raise ValueError(f"cannot export episodes of different obs_dim into one file (first had {obs_dim})")
    lengths = np.array([ep.length for ep in episodes], dtype=np.int64)
    episode_of_row = pa.array(np.repeat(np.arange(len(episodes)), lengths))

    def repeated(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
        return pa.array(values, type=arrow_type).take(episode_of_row)

    columns: dict[str, pa.Array] = {
        "episode_id": repeated([ep.episode_id for ep in episodes], pa.string()),
        "t": pa.array(np.concatenate([np.arange(n, dtype=np.int32) for n in lengths])),
        "obs": pa.FixedSizeListArray.from_arrays(
            pa.array(np.concatenate([ep.obs for ep in episodes]).reshape(-1)), obs_dim
        ),
        "action": pa.array(np.concatenate([ep.action for ep in episodes])),
        "reward": pa.array(np.concatenate([ep.reward for ep in episodes])),
    }
    for key in _META_COLUMNS:
        values = [plain_value(ep.meta[key]) for ep in episodes]
        if key == "env_kwargs":
            values = [json.dumps(v, sort_keys=True) for v in values]
        columns[key] = repeated(values, _ARROW_META_TYPE[key])
    assert list(columns) == schema.names, "column order must follow parquet_schema"
    return pa.Table.from_arrays(list(columns.values()), schema=schema)
