"""StoreConfig validation, the rate limiter's bounds, key naming and the stats snapshot."""

from __future__ import annotations

import re
import time

import pytest

from trajectory_store import StoreConfig, StoreConfigError, StoreStats
from trajectory_store.lua_scripts import _PRELUDE, StoreKeys
from trajectory_store.rate_limiter import Backoff, RateLimiter, deadline_after
from trajectory_store.redis_client import endpoint_of


def test_defaults_are_valid_and_table_settings_are_the_shared_subset() -> None:
    config = StoreConfig(capacity_steps=1000)
    assert config.table_settings() == {
        "capacity_steps": 1000,
        "capacity_episodes": None,
        "min_size_to_sample": 1,
        "samples_per_insert": None,
        "rate_tolerance": 64.0,
        "max_episode_length": 100_000,
    }
    assert isinstance(StoreConfig(10, samples_per_insert=2).samples_per_insert, float)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(capacity_steps=0), "capacity_steps must be a positive int"),
        (dict(capacity_steps=1.5), "capacity_steps"),
        (dict(capacity_steps=True), "capacity_steps"),
        (dict(capacity_steps=10, capacity_episodes=0), "capacity_episodes"),
        (dict(capacity_steps=10, capacity_episodes=2, min_size_to_sample=3), "sampling could never start"),
        (dict(capacity_steps=2, min_size_to_sample=3), "raise capacity_steps"),
        (dict(capacity_steps=10, compression="gzip"), "compression"),
        (dict(capacity_steps=10, samples_per_insert=0), "samples_per_insert"),
        (dict(capacity_steps=10, samples_per_insert=float("nan")), "samples_per_insert"),
        (dict(capacity_steps=10, samples_per_insert=8, rate_tolerance=4), "rate_tolerance=4.0 must be >="),
        (dict(capacity_steps=10, sample_timeout_s=0), "sample_timeout_s"),
        (dict(capacity_steps=10, insert_timeout_s=-1), "insert_timeout_s"),
        (dict(capacity_steps=10, max_episode_length=0), "max_episode_length"),
    ],
)
def test_bad_settings_say_what_to_change(kwargs: dict, message: str) -> None:
    with pytest.raises(StoreConfigError, match=message):
        StoreConfig(**kwargs)


def test_config_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        StoreConfig(capacity_steps=-1)


def test_rate_limiter_bounds_follow_reverb() -> None:
    config = StoreConfig(100, min_size_to_sample=10, samples_per_insert=4, rate_tolerance=8)
    limiter = RateLimiter.from_config(config)
    assert (limiter.min_diff, limiter.max_diff) == (32.0, 48.0)
    assert limiter.script_args() == [10, 4.0, 32.0, 48.0]
    assert "must stay within [32, 48]" in limiter.explain(size=12, inserted=12, sampled=20)
    off = RateLimiter.from_config(StoreConfig(100))
    assert not off.enabled and off.script_args()[1] == 0.0
    assert "min_size_to_sample=1" in off.explain(size=0, inserted=0, sampled=0)


def test_backoff_never_sleeps_past_the_deadline() -> None:
    backoff = Backoff(cap_s=10.0)
    for _ in range(12):
        backoff.sleep(time.monotonic())  # an expired deadline: no sleep at all
    start = time.monotonic()
    backoff.sleep(start + 0.05)
    assert time.monotonic() - start < 1.0
    assert deadline_after(None) == float("inf")


def test_store_keys_share_one_hash_tag_and_names_are_checked() -> None:
    keys = StoreKeys("tmaze-1000")
    assert all(k.startswith("memup:{tmaze-1000}:") for k in [*keys.data, keys.config])
    assert len(set(keys.data)) == 7
    for bad in ["", "a b", "x}y", "a:b", "-lead", "x" * 101]:
        with pytest.raises(ValueError, match="store name"):
            StoreKeys(bad)


def test_each_named_key_is_the_one_the_scripts_bind_to_that_name() -> None:
    keys = StoreKeys("t")
    bound = {}
    for names, slots in re.findall(r"local ([\w, ]+) = (KEYS\[[^\n]+)", _PRELUDE):
        indices = [int(i) for i in re.findall(r"KEYS\[(\d+)\]", slots)]
        bound.update(zip(names.split(", "), indices))
    assert len(bound) == len(keys.data) == 7
    for name, index in bound.items():
        assert keys.data[index - 1] == getattr(keys, name) == keys.key(name)


def test_endpoint_never_shows_the_password() -> None:
    assert endpoint_of("redis://:s3cret@10.0.0.5:6380/0") == "10.0.0.5:6380"
    assert endpoint_of("redis://user:s3cret@host/0") == "host:6379"


def test_stats_from_redis_counts_only_the_recent_window_and_namespaces_metrics() -> None:
    counters = {b"episodes": b"3", b"steps": b"30", b"inserted": b"5", b"sampled": b"7"}
    rate = {b"b1": b"101 10 100", b"b0": b"90 50 500", b"b9": b"99 5 50"}
    stats = StoreStats.from_redis(counters, rate, now_s=101)
    assert (stats.episodes, stats.steps, stats.evicted) == (3, 30, 0)
    assert stats.insert_rate_episodes == pytest.approx(1.5) and stats.insert_rate_steps == pytest.approx(15.0)
    metrics = stats.as_metrics()
    assert metrics["store/sampled"] == 7.0 and all(k.startswith("store/") for k in metrics)
