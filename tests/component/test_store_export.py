"""export_parquet writes one row per step and reads back to the same episodes."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from trajectory_store import Episode, TrajectoryStore, read_parquet_episodes
from trajectory_store.synthetic import random_episode


def test_export_parquet_round_trip(fresh_store: TrajectoryStore, tmp_path) -> None:
    rng = np.random.default_rng(0)
    episodes = [random_episode(rng, int(n)) for n in rng.integers(1, 40, size=300)]  # > one write batch
    episodes.append(
        Episode.create(
            np.zeros((3, 3)), [0, 1, 1], [0.0, 0.5, -3.0], env_id="e", seed=2**64 - 1, collector_id="c",
            policy_id="p", env_kwargs={"nested": {"a": [1, None]}}, terminated=False, truncated=True,
        )
    )
    fresh_store.insert(episodes)
    path = tmp_path / "episodes.parquet"
    assert fresh_store.export_parquet(path) == len(episodes)

    table = pq.read_table(path)
    assert table.num_rows == sum(ep.length for ep in episodes)
    assert table.column_names[:5] == ["episode_id", "t", "obs", "action", "reward"]
    first = table.slice(0, episodes[0].length)
    assert first.column("t").to_pylist() == list(range(episodes[0].length))
    assert set(first.column("episode_id").to_pylist()) == {episodes[0].episode_id}
    assert list(read_parquet_episodes(path)) == episodes


def test_exporting_an_empty_store_leaves_a_valid_empty_file(fresh_store: TrajectoryStore, tmp_path) -> None:
    path = tmp_path / "empty.parquet"
    assert fresh_store.export_parquet(path) == 0
    assert pq.read_table(path).num_rows == 0
    assert list(read_parquet_episodes(path)) == []
