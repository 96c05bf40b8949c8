"""Episode <-> bytes: an Arrow IPC stream holding exactly one record batch. Never pickle.

`decode_episode` treats its input as hostile: whatever the bytes, it returns a valid `Episode`
or raises `InvalidEpisodeError` saying what is wrong. The declared length is checked against
`max_length` from the schema metadata before any column buffer is read or decompressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from trajectory_store.episode import DEFAULT_MAX_EPISODE_LENGTH, Episode
from trajectory_store.errors import InvalidEpisodeError
from trajectory_store.schema import COLUMNS, MAX_OBS_DIM, arrow_schema, meta_from_arrow, meta_to_arrow

Compression = Literal["lz4", "zstd"] | None
COMPRESSIONS: tuple[Compression, ...] = (None, "lz4", "zstd")

# Arrow's default thread pool costs ~80 us per small batch; episodes are small, so stay on this thread.
_WRITE_OPTIONS = {c: pa.ipc.IpcWriteOptions(compression=c, use_threads=False) for c in COMPRESSIONS}
_READ_OPTIONS = pa.ipc.IpcReadOptions(use_threads=False)


@dataclass(frozen=True)
class EncodedEpisode:
    """An episode already encoded for a store (`TrajectoryStore.encode`), so that the CPU work of
    encoding can run on another thread or process than the one calling `insert`.

    `insert` trusts the blob; readers still validate it (and quarantine it if it is bad).
    """

    episode_id: str
    length: int
    blob: bytes


def encode_episode(ep: Episode, compression: Compression = None) -> bytes:
    """Serialises `ep` as an Arrow IPC stream; `compression` compresses each column buffer."""
    if compression not in _WRITE_OPTIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
    schema = arrow_schema(ep.obs_dim).with_metadata(meta_to_arrow(ep.meta))
    columns = [
        pa.FixedSizeListArray.from_arrays(pa.array(ep.obs.reshape(-1)), ep.obs_dim),
        pa.array(ep.action),
        pa.array(ep.reward),
    ]
    batch = pa.RecordBatch.from_arrays(columns, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=_WRITE_OPTIONS[compression]) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def decode_episode(
    data: bytes | bytearray | memoryview, *, max_length: int = DEFAULT_MAX_EPISODE_LENGTH
) -> Episode:
    """Parses and validates one encoded episode; raises `InvalidEpisodeError` on any defect.

    The episode's arrays are zero-copy views of `data` (copied first unless it is immutable bytes).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidEpisodeError(f"an encoded episode is bytes, got {type(data).__name__}")
    try:
        return _decode(pa.py_buffer(data if isinstance(data, bytes) else bytes(data)), max_length)
    except InvalidEpisodeError:
        raise
    except Exception as exc:  # hostile input must never escape as another type
        raise InvalidEpisodeError(f"undecodable episode ({type(exc).__name__}: {exc})") from None


def _decode(buf: pa.Buffer, max_length: int) -> Episode:
    try:
        reader = pa.ipc.open_stream(buf, options=_READ_OPTIONS)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidEpisodeError(f"not an Arrow IPC stream ({exc})") from None
    obs_dim = _check_schema(reader.schema)
    try:
        meta = meta_from_arrow(reader.schema.metadata)
    except ValueError as exc:
        raise InvalidEpisodeError(f"bad episode metadata: {exc}") from None
    length = meta["length"]
    if isinstance(length, int) and length > max_length:
        raise InvalidEpisodeError(f"episode declares {length} steps, more than max_length={max_length}")
    batch = _read_single_batch(reader)
    if batch.num_rows != length:
        raise InvalidEpisodeError(f"metadata says length {length}, the record batch has {batch.num_rows} rows")
    try:
        batch.validate(full=True)
    except pa.ArrowException as exc:
        raise InvalidEpisodeError(f"record batch is inconsistent ({exc})") from None
    for name, column in zip(COLUMNS, batch.columns):
        if column.null_count:
            raise InvalidEpisodeError(f"column {name!r} holds {column.null_count} nulls")
    obs = batch.column(0).flatten().to_numpy(zero_copy_only=True).reshape(batch.num_rows, obs_dim)
    action = batch.column(1).to_numpy(zero_copy_only=True)
    reward = batch.column(2).to_numpy(zero_copy_only=True)
    return Episode(obs, action, reward, meta)


def _check_schema(schema: pa.Schema) -> int:
    """Returns obs_dim if `schema` has the episode's columns and types (nullability is not
    compared, so other Arrow writers interoperate; nulls themselves are rejected later)."""
    if list(schema.names) != list(COLUMNS):
        raise InvalidEpisodeError(f"columns must be {list(COLUMNS)}, got {list(schema.names)[:8]}")
    obs_type = schema.field("obs").type
    if not pa.types.is_fixed_size_list(obs_type):
        raise InvalidEpisodeError(f"obs must be fixed_size_list<float32>[obs_dim], got {obs_type}")
    obs_dim = obs_type.list_size
    if not 1 <= obs_dim <= MAX_OBS_DIM:
        raise InvalidEpisodeError(f"obs_dim must be in [1, {MAX_OBS_DIM}], got {obs_dim}")
    for got, want in zip(schema, arrow_schema(obs_dim)):
        got_leaf, want_leaf = _leaf(got.type), _leaf(want.type)
        if not got_leaf.equals(want_leaf):
            raise InvalidEpisodeError(f"column {got.name!r} must hold {want_leaf}, got {got.type}")
    return obs_dim


def _leaf(arrow_type: pa.DataType) -> pa.DataType:
    return arrow_type.value_type if pa.types.is_fixed_size_list(arrow_type) else arrow_type


def _read_single_batch(reader: pa.ipc.RecordBatchStreamReader) -> pa.RecordBatch:
    try:
        batch = reader.read_next_batch()
    except StopIteration:
        raise InvalidEpisodeError("the stream holds no record batch") from None
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
        raise InvalidEpisodeError(f"corrupt record batch ({exc})") from None
    try:
        reader.read_next_batch()
    except StopIteration:
        return batch
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
        raise InvalidEpisodeError(f"corrupt data after the record batch ({exc})") from None
    raise InvalidEpisodeError("the stream holds more than one record batch")
