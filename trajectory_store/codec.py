"""Episode <-> bytes: an Arrow IPC stream of record batches. Never pickle.

An episode of at most `CHUNK_ROWS` steps is one record batch. A longer one is one batch per
`CHUNK_ROWS` steps, and its schema metadata carries the layout (`chunks.py`): the byte end of
each batch message, so that a reader can fetch and decode one chunk at a time (docs/design.md §13).
Either way the blob is one stream, decodable whole.

`decode_episode` treats its input as hostile: whatever the bytes, it returns a valid `Episode`
or raises `InvalidEpisodeError` saying what is wrong. The declared length is checked against
`max_length` from the schema metadata before any column buffer is read or decompressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from trajectory_store.chunks import CHUNK_ROWS, Layout, layout_to_arrow, split_metadata
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
    policy_id: str = ""
    """The behaviour policy that played it, counted per policy in `StoreStats.inserted_by_policy`."""


def encode_episode(ep: Episode, compression: Compression = None, chunk_rows: int = CHUNK_ROWS) -> bytes:
    """Serialises `ep` as an Arrow IPC stream, one record batch per `chunk_rows` steps;
    `compression` compresses each column buffer."""
    if compression not in _WRITE_OPTIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    metadata = meta_to_arrow(ep.meta)
    columns = [
        pa.FixedSizeListArray.from_arrays(pa.array(ep.obs.reshape(-1)), ep.obs_dim),
        pa.array(ep.action),
        pa.array(ep.reward),
    ]
    batch = pa.RecordBatch.from_arrays(columns, schema=arrow_schema(ep.obs_dim))
    parts = [batch.slice(start, chunk_rows) for start in range(0, ep.length, chunk_rows)]
    body, ends = _write_stream(arrow_schema(ep.obs_dim).with_metadata(metadata), parts, compression)
    if len(parts) == 1:
        return body
    # The layout names byte offsets after the schema message, which itself holds the layout:
    # so the batches are written first and the schema with the layout is put in front.
    schema_end = _schema_message_end(body)
    layout = Layout(chunk_rows, tuple(end - schema_end for end in ends))
    schema = arrow_schema(ep.obs_dim).with_metadata({**metadata, **layout_to_arrow(layout)})
    header, _ = _write_stream(schema, [], compression)
    return header[:-_EOS_BYTES] + body[schema_end:]


_EOS_BYTES = 8  # the stream's end marker: continuation token and a zero length


def _write_stream(schema: pa.Schema, batches: list[pa.RecordBatch], compression: Compression
                  ) -> tuple[bytes, list[int]]:
    """The stream's bytes and the byte end of each batch message in it."""
    sink, ends = pa.BufferOutputStream(), []
    with pa.ipc.new_stream(sink, schema, options=_WRITE_OPTIONS[compression]) as writer:
        for batch in batches:
            writer.write_batch(batch)
            ends.append(sink.tell())
    return sink.getvalue().to_pybytes(), ends


def _schema_message_end(stream: bytes) -> int:
    """Where the first (schema) message of a stream we wrote ends: 8 prefix bytes + metadata."""
    return 8 + int.from_bytes(stream[4:8], "little", signed=True)


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
    obs_dim, meta, layout = read_header(reader.schema, max_length)
    length = meta["length"]
    if layout is None:
        batch = _read_single_batch(reader)
        if batch.num_rows != length:
            raise InvalidEpisodeError(f"metadata says length {length}, the record batch has {batch.num_rows} rows")
        return _episode(batch, obs_dim, meta)
    obs, action, reward = [], [], []
    for i in range(layout.num_chunks):
        batch = _read_batch(reader, f"chunk {i} (of {layout.num_chunks} in its layout)")
        chunk = _columns(batch, obs_dim, layout.rows_of(i, length))
        for column, part in zip((obs, action, reward), chunk):
            column.append(part)
    _check_end(reader, "the stream holds more record batches than its chunk layout lists")
    return Episode(np.concatenate(obs), np.concatenate(action), np.concatenate(reward), meta)


def read_header(schema: pa.Schema, max_length: int) -> tuple[int, dict, Layout | None]:
    """(obs_dim, episode metadata, chunk layout or None) of a stream's schema, all validated;
    the declared length is checked against `max_length` before any batch is read."""
    obs_dim = _check_schema(schema)
    try:
        raw, layout = split_metadata(schema.metadata)
        meta = meta_from_arrow(raw)
    except ValueError as exc:
        raise InvalidEpisodeError(f"bad episode metadata: {exc}") from None
    length = meta["length"]
    if isinstance(length, int) and length > max_length:
        raise InvalidEpisodeError(f"episode declares {length} steps, more than max_length={max_length}")
    covered = layout is None or (isinstance(length, int) and layout.num_chunks == -(-length // layout.rows))
    if not covered:
        raise InvalidEpisodeError(f"the chunk layout ({layout.num_chunks} chunks of {layout.rows} rows) "
                                  f"does not cover length {length}")
    return obs_dim, meta, layout


def decode_chunk(stream: pa.Buffer, obs_dim: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns (obs, action, reward) of one chunk: `stream` is the episode's schema message,
    one batch message and the end marker; types, rows, nulls and finiteness are checked."""
    try:
        reader = pa.ipc.open_stream(stream, options=_READ_OPTIONS)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidEpisodeError(f"not an Arrow IPC stream ({exc})") from None
    batch = _read_single_batch(reader)
    obs, action, reward = _columns(batch, obs_dim, rows)
    if not (np.isfinite(obs).all() and np.isfinite(reward).all()):
        raise InvalidEpisodeError("a chunk holds NaN or infinite observations or rewards")
    return obs, action, reward


def _columns(batch: pa.RecordBatch, obs_dim: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if batch.num_rows != rows:
        raise InvalidEpisodeError(f"expected a record batch of {rows} rows, got {batch.num_rows}")
    if batch.schema.field(0).type.list_size != obs_dim:
        raise InvalidEpisodeError("a record batch's obs width differs from the schema's")
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
    return obs, action, reward


def _episode(batch: pa.RecordBatch, obs_dim: int, meta: dict) -> Episode:
    return Episode(*_columns(batch, obs_dim, batch.num_rows), meta)


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
    batch = _read_batch(reader, "record batch")
    _check_end(reader, "the stream holds more than one record batch")
    return batch


def _read_batch(reader: pa.ipc.RecordBatchStreamReader, what: str) -> pa.RecordBatch:
    try:
        return reader.read_next_batch()
    except StopIteration:
        raise InvalidEpisodeError(f"the stream holds no {what}") from None
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
        raise InvalidEpisodeError(f"corrupt record batch ({exc})") from None


def _check_end(reader: pa.ipc.RecordBatchStreamReader, too_many: str) -> None:
    try:
        reader.read_next_batch()
    except StopIteration:
        return
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
        raise InvalidEpisodeError(f"corrupt data after the last record batch ({exc})") from None
    raise InvalidEpisodeError(too_many)
