"""Fuzzing decode_episode: any bytes give a valid Episode or InvalidEpisodeError, nothing else."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trajectory_store import Episode, InvalidEpisodeError, decode_episode, encode_episode
from trajectory_store.codec import COMPRESSIONS
from trajectory_store.schema import META_FIELDS, meta_to_arrow
from trajectory_store.synthetic import random_episode

_EPISODES = [random_episode(np.random.default_rng(n), n, obs_dim=d) for n, d in ((1, 3), (30, 3), (200, 2))]
_BLOBS = [encode_episode(ep, c) for ep in _EPISODES for c in COMPRESSIONS]
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_or_reject(data: bytes) -> None:
    """The property: a returned episode is valid and re-encodes to itself; else the one error type."""
    try:
        ep = decode_episode(data, max_length=10_000)
    except InvalidEpisodeError as exc:
        assert str(exc), "the error must say what is wrong"
        return
    assert isinstance(ep, Episode)
    assert ep.length == ep.meta["length"] <= 10_000
    assert np.isfinite(ep.obs).all() and np.isfinite(ep.reward).all()
    assert decode_episode(encode_episode(ep)) == ep


@_FUZZ
@given(blob=st.sampled_from(_BLOBS), data=st.data())
def test_truncated_payloads(blob: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(blob) - 1))
    _decode_or_reject(blob[:cut])


@_FUZZ
@given(
    blob=st.sampled_from(_BLOBS),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=8),
)
def test_bit_flipped_payloads(blob: bytes, flips: list[tuple[float, int]]) -> None:
    mutated = bytearray(blob)
    for where, bit in flips:
        mutated[int(where * len(mutated))] ^= 1 << bit
    _decode_or_reject(bytes(mutated))


@_FUZZ
@given(blob=st.sampled_from(_BLOBS), start=st.floats(0, 1), junk=st.binary(min_size=1, max_size=64))
def test_spliced_payloads(blob: bytes, start: float, junk: bytes) -> None:
    at = int(start * len(blob))
    _decode_or_reject(blob[:at] + junk + blob[at + len(junk) :])


@_FUZZ
@given(payload=st.binary(max_size=2048))
def test_random_bytes(payload: bytes) -> None:
    _decode_or_reject(payload)


@_FUZZ
@given(length=st.integers(0, 1 << 20), body=st.binary(max_size=512))
def test_random_bytes_behind_an_ipc_message_header(length: int, body: bytes) -> None:
    _decode_or_reject(b"\xff\xff\xff\xff" + length.to_bytes(4, "little") + body)


_TYPES = st.sampled_from(
    [pa.int8(), pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.string(), pa.bool_(),
     pa.list_(pa.float32()), pa.list_(pa.float32(), 3), pa.list_(pa.float64(), 3), pa.list_(pa.int32(), 1)]
)
_JSON_BYTES = st.one_of(
    st.sampled_from([b"1", b"-1", b"0", b"1e400", b"NaN", b"null", b"true", b'"x"', b"{}", b"[]", b"1.5"]),
    st.binary(max_size=16),
    st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()),
)


def _column(arrow_type: pa.DataType, rows: int, *, nulls: bool) -> pa.Array:
    if pa.types.is_fixed_size_list(arrow_type):
        values = pa.array(np.zeros(rows * arrow_type.list_size), arrow_type.value_type)
        return pa.FixedSizeListArray.from_arrays(values, arrow_type.list_size)
    if nulls:
        return pa.nulls(rows, arrow_type)
    zeros = {"list": [0.0], "string": "", "bool": False}
    return pa.array([zeros.get(str(arrow_type).split("<")[0], 0)] * rows, arrow_type)


@st.composite
def _arrow_payloads(draw: st.DrawFn) -> bytes:
    """Well-formed Arrow IPC with wrong names, types, row counts or metadata values."""
    rows = draw(st.integers(0, 6))
    names = draw(st.lists(st.sampled_from(["obs", "action", "reward", "t", ""]), min_size=0, max_size=4))
    arrays = [_column(draw(_TYPES), rows, nulls=draw(st.booleans())) for _ in names]
    base = meta_to_arrow(draw(st.sampled_from(_EPISODES)).meta)
    keys = st.sampled_from([k.encode() for k in META_FIELDS] + [b"other"])
    edits = draw(st.dictionaries(keys, _JSON_BYTES, max_size=4))
    drop = draw(st.lists(st.sampled_from(list(base)), max_size=2))
    metadata = {k: v for k, v in {**base, **edits}.items() if k not in drop}
    schema = pa.schema([pa.field(n, a.type) for n, a in zip(names, arrays)], metadata=metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        if draw(st.booleans()):
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return sink.getvalue().to_pybytes()


@_FUZZ
@given(payload=_arrow_payloads())
def test_schema_violating_arrow_payloads(payload: bytes) -> None:
    _decode_or_reject(payload)


@_FUZZ
@given(episode=st.sampled_from(_EPISODES), key=st.sampled_from(sorted(META_FIELDS)), value=_JSON_BYTES)
def test_single_metadata_value_mutations(episode: Episode, key: str, value: bytes) -> None:
    columns = [
        pa.FixedSizeListArray.from_arrays(pa.array(episode.obs.reshape(-1)), episode.obs_dim),
        pa.array(episode.action),
        pa.array(episode.reward),
    ]
    metadata = {**meta_to_arrow(episode.meta), key.encode(): value}
    batch = pa.RecordBatch.from_arrays(columns, names=["obs", "action", "reward"])
    batch = batch.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    _decode_or_reject(sink.getvalue().to_pybytes())
