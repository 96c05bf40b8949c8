"""Schema 2: episodes record which policy and memory versions played them; schema-1 episodes
(written before) still read, with no versions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from trajectory_store import Episode, InvalidEpisodeError, decode_episode, encode_episode
from trajectory_store.export import read_parquet_episodes, write_parquet
from trajectory_store.schema import SCHEMA_VERSION, arrow_schema, meta_to_arrow


def _episode(**versions: int | None) -> Episode:
    rng = np.random.default_rng(0)
    return Episode.create(rng.standard_normal((5, 3)), [0, 1, 0, 1, 1], [0, 0, 0, 0, 4.0],
                          env_id="memup/NoisyTMaze-v0", seed=3, collector_id="env-runner-1",
                          policy_id="impala", **versions)


def _schema_1_stream(ep: Episode) -> bytes:
    """`ep` as a schema-1 writer wrote it: no version keys, schema_version 1."""
    meta = {k: v for k, v in meta_to_arrow(ep.meta).items()
            if k not in (b"policy_version", b"memory_version")}
    meta[b"schema_version"] = b"1"
    columns = [pa.FixedSizeListArray.from_arrays(pa.array(ep.obs.reshape(-1)), ep.obs_dim),
               pa.array(ep.action), pa.array(ep.reward)]
    schema = arrow_schema(ep.obs_dim).with_metadata(meta)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
    return sink.getvalue().to_pybytes()


def test_versions_round_trip_through_the_codec_and_parquet(tmp_path) -> None:
    ep = _episode(policy_version=12, memory_version=3)
    assert decode_episode(encode_episode(ep)) == ep
    path = tmp_path / "episodes.parquet"
    write_parquet([ep, _episode()], path)
    back = list(read_parquet_episodes(path))
    assert back[0] == ep
    assert (back[1].meta["policy_version"], back[1].meta["memory_version"]) == (None, None)


def test_a_collector_episode_has_no_versions() -> None:
    meta = _episode().meta
    assert meta["schema_version"] == SCHEMA_VERSION == 2
    assert meta["policy_version"] is None and meta["memory_version"] is None


def test_schema_1_episodes_read_as_schema_2_without_versions() -> None:
    ep = _episode()
    old = decode_episode(_schema_1_stream(ep))
    assert old == ep
    legacy_meta = {k: v for k, v in ep.meta.items() if k not in ("policy_version", "memory_version")}
    assert Episode(ep.obs, ep.action, ep.reward, {**legacy_meta, "schema_version": 1}) == ep


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_bad_versions_are_refused(bad) -> None:
    with pytest.raises(InvalidEpisodeError, match="policy_version"):
        _episode(policy_version=bad)


def test_a_schema_2_episode_missing_its_versions_is_refused() -> None:
    ep = _episode()
    meta = {k: v for k, v in ep.meta.items() if k != "memory_version"}
    with pytest.raises(InvalidEpisodeError, match="missing \\['memory_version'\\]"):
        Episode(ep.obs, ep.action, ep.reward, meta)
