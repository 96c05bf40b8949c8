"""Episode construction: what Episode.create fills in, and every rule the constructor enforces."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping

import numpy as np
import pytest

from trajectory_store import Episode, InvalidEpisodeError
from trajectory_store.episode import validate_episode
from trajectory_store.schema import META_FIELDS, SCHEMA_VERSION
from trajectory_store.synthetic import random_episode


def _episode(length: int = 5, **overrides) -> Episode:
    kwargs = dict(env_id="memup/NoisyTMaze-v0", seed=3, collector_id="c0", policy_id="p")
    kwargs.update(overrides)
    rewards = np.arange(length, dtype=np.float64)
    return Episode.create(np.ones((length, 3)), np.zeros(length, dtype=np.int64), rewards, **kwargs)


def _with_meta(ep: Episode, **changes) -> Episode:
    return Episode(ep.obs, ep.action, ep.reward, {**ep.meta, **changes})


def test_create_fills_metadata_and_converts_dtypes() -> None:
    ep = _episode(4, env_kwargs={"corridor_length": 10, "pair": (1, 2)}, success=True)
    assert set(ep.meta) == set(META_FIELDS)
    assert len(ep.meta["episode_id"]) == 32 and ep.episode_id == ep.meta["episode_id"]
    assert ep.meta["length"] == 4 == ep.length and ep.obs_dim == 3
    assert ep.meta["return"] == 6.0
    assert ep.meta["schema_version"] == SCHEMA_VERSION
    assert ep.meta["terminated"] is True and ep.meta["truncated"] is False and ep.meta["success"] is True
    assert ep.meta["env_kwargs"] == {"corridor_length": 10, "pair": [1, 2]}  # JSON-plain, as decoded
    assert (ep.obs.dtype, ep.action.dtype, ep.reward.dtype) == (np.float32, np.int32, np.float32)


def test_episode_is_immutable() -> None:
    ep = _episode()
    with pytest.raises(ValueError):
        ep.obs[0, 0] = 5.0
    with pytest.raises(TypeError):
        ep.meta["seed"] = 4  # type: ignore[index]
    with pytest.raises(TypeError):
        ep.meta["env_kwargs"]["x"] = 1  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.reward = np.zeros(5, np.float32)  # type: ignore[misc]


def test_episodes_cross_process_boundaries_as_ray_moves_them() -> None:
    ep = _episode(6, env_kwargs={"corridor_length": 4})
    back = pickle.loads(pickle.dumps(ep))  # what Ray does to actor arguments and results
    assert back == ep and not back.obs.flags.writeable and isinstance(back.meta["env_kwargs"], Mapping)


def test_create_copies_the_callers_arrays() -> None:
    obs = np.zeros((3, 2), np.float32)
    ep = Episode.create(obs, [0, 1, 0], [0.0, 0.0, 1.0], env_id="e", seed=0, collector_id="c", policy_id="p")
    obs[0, 0] = np.nan
    assert np.isfinite(ep.obs).all() and obs.flags.writeable


def test_equality_compares_arrays_and_metadata() -> None:
    ep = _episode()
    same = Episode(ep.obs.copy(), ep.action.copy(), ep.reward.copy(), dict(ep.meta))
    assert ep == same
    assert ep != _with_meta(ep, seed=4)
    assert ep != _episode()  # another id


@pytest.mark.parametrize("seed", [0, 2**63, 2**64 - 1])
def test_seed_spans_uint64(seed: int) -> None:
    assert _episode(seed=seed).meta["seed"] == seed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(seed=-1), "seed"),
        (dict(seed=2**64), "seed"),
        (dict(seed=True), "seed"),
        (dict(length=99), "length"),
        (dict(**{"return": 1.0}), "return"),
        (dict(**{"return": float("nan")}), "return"),
        (dict(episode_id="not-a-uuid"), "episode_id"),
        (dict(env_id=""), "env_id"),
        (dict(terminated=False, truncated=False), "complete episodes"),
        (dict(schema_version=99), "schema_version"),
        (dict(created_at_ns=-5), "created_at_ns"),
        (dict(success="yes"), "success"),
        (dict(env_kwargs={"f": object()}), "env_kwargs"),
        (dict(env_kwargs={1: 2}), "env_kwargs"),
        (dict(extra=1), "unexpected"),
    ],
)
def test_bad_metadata_is_rejected_with_the_field_named(change: dict, message: str) -> None:
    with pytest.raises(InvalidEpisodeError, match=message):
        _with_meta(_episode(), **change)


def test_missing_metadata_key_is_named() -> None:
    ep = _episode()
    meta = dict(ep.meta)
    del meta["policy_id"]
    with pytest.raises(InvalidEpisodeError, match="missing.*policy_id"):
        Episode(ep.obs, ep.action, ep.reward, meta)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("obs", np.full((5, 3), np.nan, np.float32), "obs holds NaN"),
        ("obs", np.ones((5, 3), np.float64), "dtype float32"),
        ("obs", np.ones(5, np.float32), "dimension"),
        ("obs", np.ones((5, 0), np.float32), "obs_dim"),
        ("action", np.zeros(4, np.int32), "disagree"),
        ("action", [0, 0, 0, 0, 0], "numpy array"),
        ("reward", np.array([0, 1, 2, np.inf, 4], np.float32), "reward holds NaN or infinite"),
    ],
)
def test_bad_columns_are_rejected(column: str, value: object, message: str) -> None:
    ep = _episode()
    columns = {"obs": ep.obs, "action": ep.action, "reward": ep.reward, column: value}
    with pytest.raises(InvalidEpisodeError, match=message):
        Episode(columns["obs"], columns["action"], columns["reward"], ep.meta)


def test_empty_episode_and_bad_actions_are_rejected() -> None:
    with pytest.raises(InvalidEpisodeError, match="at least one step"):
        Episode.create(np.zeros((0, 3)), [], [], env_id="e", seed=0, collector_id="c", policy_id="p")
    with pytest.raises(InvalidEpisodeError, match="integers"):
        Episode.create(np.zeros((1, 3)), [0.5], [0], env_id="e", seed=0, collector_id="c", policy_id="p")
    with pytest.raises(InvalidEpisodeError, match="int32"):
        Episode.create(np.zeros((1, 3)), [2**40], [0], env_id="e", seed=0, collector_id="c", policy_id="p")


def test_validate_episode_rechecks_values_written_through_the_callers_buffer() -> None:
    reward = np.zeros(4, np.float32)
    meta = {**_episode(4).meta, "return": 0.0}
    ep = Episode(np.zeros((4, 1), np.float32), np.zeros(4, np.int32), reward, meta)
    assert validate_episode(ep) is ep
    reward[1] = np.nan  # the Episode holds a read-only view; the caller's array is still writable
    with pytest.raises(InvalidEpisodeError, match="reward"):
        validate_episode(ep)
    with pytest.raises(InvalidEpisodeError, match="max_episode_length"):
        validate_episode(_episode(10), max_length=9)
    with pytest.raises(InvalidEpisodeError, match="Episode.create"):
        validate_episode({"obs": []})


def test_synthetic_episode_looks_like_tmaze() -> None:
    ep = random_episode(np.random.default_rng(0), 50)
    assert ep.obs[0, 0] in (-1.0, 1.0) and ep.obs[-1, 1] == 1.0
    assert set(np.unique(ep.obs[:, 2])) <= {-1.0, 1.0}
    assert ep.reward[-1] in (4.0, -3.0) and not ep.reward[:-1].any()
