"""encode_episode / decode_episode: round trips, and a named rejection for each schema violation."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from trajectory_store import Episode, InvalidEpisodeError, decode_episode, encode_episode
from trajectory_store.codec import COMPRESSIONS
from trajectory_store.schema import arrow_schema, meta_to_arrow
from trajectory_store.synthetic import random_episode


@pytest.fixture
def episode() -> Episode:
    return random_episode(np.random.default_rng(1), 40)


def _ipc(arrays: dict[str, pa.Array], metadata: dict[bytes, bytes] | None, batches: int = 1) -> bytes:
    """A hand-built Arrow IPC stream, to produce payloads the encoder never would."""
    batch = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    schema = batch.schema.with_metadata(metadata) if metadata else batch.schema
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for _ in range(batches):
            writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    return sink.getvalue().to_pybytes()


def _columns(ep: Episode) -> dict[str, pa.Array]:
    return {
        "obs": pa.FixedSizeListArray.from_arrays(pa.array(ep.obs.reshape(-1)), ep.obs_dim),
        "action": pa.array(ep.action),
        "reward": pa.array(ep.reward),
    }


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize(("length", "obs_dim"), [(1, 1), (40, 3), (1000, 3), (7, 64)])
def test_round_trip(compression: str | None, length: int, obs_dim: int) -> None:
    ep = random_episode(np.random.default_rng(length), length, obs_dim=obs_dim)
    data = encode_episode(ep, compression)
    back = decode_episode(data)
    assert back == ep
    assert back.meta["seed"] == ep.meta["seed"] and isinstance(back.meta["env_kwargs"]["corridor_length"], int)
    assert not back.obs.flags.writeable  # zero-copy views of the Arrow buffer


def test_compression_shrinks_tmaze_episodes() -> None:
    ep = random_episode(np.random.default_rng(0), 1000)
    sizes = {c: len(encode_episode(ep, c)) for c in COMPRESSIONS}
    assert sizes["lz4"] < sizes[None] and sizes["zstd"] < sizes[None]


def test_seed_at_uint64_max_and_nested_kwargs_survive() -> None:
    ep = Episode.create(
        np.zeros((2, 3)), [0, 1], [0.0, 4.0], env_id="e", seed=2**64 - 1, collector_id="c", policy_id="p",
        env_kwargs={"nested": {"a": [1, 2.5, None, "x"]}}, terminated=False, truncated=True, success=None,
    )
    assert decode_episode(encode_episode(ep, "zstd")) == ep


def test_unknown_compression_is_refused(episode: Episode) -> None:
    with pytest.raises(ValueError, match="compression"):
        encode_episode(episode, "gzip")  # type: ignore[arg-type]


def test_decode_accepts_only_bytes() -> None:
    with pytest.raises(InvalidEpisodeError, match="bytes"):
        decode_episode("not bytes")  # type: ignore[arg-type]


def test_max_length_is_checked_before_reading_columns(episode: Episode) -> None:
    data = encode_episode(episode, "lz4")
    with pytest.raises(InvalidEpisodeError, match="max_length=39"):
        decode_episode(data, max_length=39)
    assert decode_episode(data, max_length=40) == episode


def test_valid_hand_built_stream_decodes(episode: Episode) -> None:
    assert decode_episode(_ipc(_columns(episode), meta_to_arrow(episode.meta))) == episode


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c.pop("reward"), "columns must be"),
        (lambda c: c.update(extra=pa.array(np.zeros(40, np.int8))), "columns must be"),
        (lambda c: c.update(action=pa.array(np.zeros(40, np.int64))), "must hold int32"),
        (lambda c: c.update(reward=pa.array(np.zeros(40, np.float64))), "must hold float"),
        (lambda c: c.update(obs=pa.array(np.zeros(40, np.float32))), "fixed_size_list"),
        (lambda c: c.update(obs=pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(80)), 2)), "obs"),
        (lambda c: c.update(action=pa.array([None] * 40, pa.int32())), "null"),
    ],
)
def test_schema_violations_are_named(episode: Episode, mutate, message: str) -> None:
    columns = _columns(episode)
    mutate(columns)
    with pytest.raises(InvalidEpisodeError, match=message):
        decode_episode(_ipc(columns, meta_to_arrow(episode.meta)))


def test_fields_declared_nullable_decode_when_they_hold_no_nulls(episode: Episode) -> None:
    schema = pa.schema([f.with_nullable(True) for f in arrow_schema(3)], metadata=meta_to_arrow(episode.meta))
    batch = pa.RecordBatch.from_arrays(list(_columns(episode).values()), schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    assert decode_episode(sink.getvalue().to_pybytes()) == episode


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.clear(), "no episode metadata"),
        (lambda m: m.pop(b"seed"), "missing.*seed"),
        (lambda m: m.update({b"seed": b"{not json"}), "seed.*not valid JSON"),
        (lambda m: m.update({b"return": b"NaN"}), "return.*not valid JSON"),
        (lambda m: m.update({b"length": b"41"}), "length"),
        (lambda m: m.update({b"length": b"\"40\""}), "length"),
        (lambda m: m.update({b"return": b"123.0"}), "return"),
        (lambda m: m.update({b"env_kwargs": b"[1, 2]"}), "env_kwargs"),
        (lambda m: m.update({b"\xff": b"1"}), "UTF-8"),
    ],
)
def test_metadata_violations_are_named(episode: Episode, edit, message: str) -> None:
    metadata = meta_to_arrow(episode.meta)
    edit(metadata)
    with pytest.raises(InvalidEpisodeError, match=message):
        decode_episode(_ipc(_columns(episode), metadata))


def test_non_finite_values_are_rejected(episode: Episode) -> None:
    columns = _columns(episode)
    reward = episode.reward.copy()
    reward[3] = np.nan
    columns["reward"] = pa.array(reward)
    metadata = meta_to_arrow(episode.meta)
    with pytest.raises(InvalidEpisodeError, match="NaN"):
        decode_episode(_ipc(columns, metadata))


def test_stream_must_hold_exactly_one_batch(episode: Episode) -> None:
    metadata = meta_to_arrow(episode.meta)
    with pytest.raises(InvalidEpisodeError, match="more than one record batch"):
        decode_episode(_ipc(_columns(episode), metadata, batches=2))
    with pytest.raises(InvalidEpisodeError, match="no record batch"):
        decode_episode(_ipc(_columns(episode), metadata, batches=0))


def test_metadata_is_json_per_key(episode: Episode) -> None:
    metadata = meta_to_arrow(episode.meta)
    assert json.loads(metadata[b"env_kwargs"]) == {"corridor_length": 40, "length_jitter": 0}
    assert json.loads(metadata[b"seed"]) == episode.meta["seed"]


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_a_long_episode_is_one_record_batch_per_chunk_and_decodes_whole(compression) -> None:
    episode = random_episode(np.random.default_rng(5), 1000)
    blob = encode_episode(episode, compression, chunk_rows=128)
    reader = pa.ipc.open_stream(blob)
    assert [b.num_rows for b in reader] == [128] * 7 + [104]
    assert decode_episode(blob) == episode
    one = pa.ipc.open_stream(encode_episode(episode, compression, chunk_rows=1000))
    assert b"chunk_layout" not in one.schema.metadata and len(list(one)) == 1  # as before


def test_a_chunk_layout_must_match_the_batches(episode: Episode) -> None:
    metadata = meta_to_arrow(episode.meta)
    layout = {b"chunk_layout": json.dumps({"rows": 16, "ends": [100, 200]}).encode()}
    with pytest.raises(InvalidEpisodeError, match="does not cover"):
        decode_episode(_ipc(_columns(episode), {**metadata, **layout}))
    bad = {b"chunk_layout": b'{"rows": 16, "ends": [200, 100]}'}
    with pytest.raises(InvalidEpisodeError, match="increasing"):
        decode_episode(_ipc(_columns(episode), {**metadata, **bad}))
    rows = -(-episode.length // 2)
    two = {b"chunk_layout": json.dumps({"rows": rows, "ends": [100, 200]}).encode()}
    with pytest.raises(InvalidEpisodeError, match=f"expected a record batch of {rows} rows"):
        decode_episode(_ipc(_columns(episode), {**metadata, **two}))
