"""Presets load into the component dataclasses; bad configs fail before any work, naming the key."""

from pathlib import Path

import pytest
import yaml

from envs import EnvSpec
from app.config import ConfigError, RunConfig, load_config, save_config

PRESETS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_every_required_preset_exists():
    names = {p.stem for p in PRESETS}
    assert {"smoke", "tmaze-100", "tmaze-1000", "tmaze-10000"} <= names


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_presets_load_and_round_trip_through_the_saved_yaml(preset, tmp_path):
    config = load_config(preset)
    assert isinstance(config, RunConfig)
    assert isinstance(config.env, EnvSpec)  # resolved once, at load
    memory = config.memup.memory
    assert (memory.obs_dim, memory.num_actions) == (config.env.obs_dim, config.env.num_actions)
    saved = tmp_path / "config.yaml"
    save_config(config, saved)
    assert load_config(saved) == config


def write(tmp_path, data) -> Path:
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        ({"env": {"corridor_length": 5, "corridor": 3}}, "env.corridor: unknown key"),
        ({"env": {"corridor_length": 5}, "colect": {}}, "colect: unknown key"),
        ({"env": {"corridor_length": 0}}, "corridor_length must be >= 1"),
        ({"env": {"corridor_length": 5}, "collect": {"num_envs": 0}}, "collect.num_envs"),
        ({"env": {"corridor_length": 5}, "memup": {"rollout": 0}}, "rollout"),
        ({"env": {"corridor_length": 5}, "memup": {"memory": {"cell": "rnn"}}}, "cell"),
        ({"env": {"corridor_length": 5}, "store": {"capacity_steps": -1}}, "capacity_steps"),
        ({}, "env: required key is missing"),
        ({"env": {"noise": True}}, "env.corridor_length: required key is missing"),
        ({"env": {"corridor_length": 50, "length_jitter": 10},
          "store": {"capacity_steps": 1000, "max_episode_length": 59}},
         r"up to 60 steps.*set `store: \{max_episode_length: 60\}`"),
        ({"env": {"corridor_length": 5}, "impala": {"train_env_kwargs": {"corridor": 3}}},
         "impala.train_env_kwargs: env.corridor: unknown key"),
        ({"env": {"corridor_length": 5}, "impala": {"train_env_kwargs": [3]}},
         "impala.train_env_kwargs must map"),
        ({"env": {"id": "FrozenLake-v1", "kwargs": {"map_name": "4x4"}},
          "impala": {"train_env_kwargs": {"map_name": "8x8"}}},
         r"change the env's inputs \(64 observation floats .* instead of 16"),
        ({"env": {"corridor_length": 5}, "online": {"collector_share": 1.0}},
         r"online.collector_share must be a number in \[0.0, 0.95\]"),
        ({"env": {"corridor_length": 5}, "collect": {"policy": "greedy"}},
         "collect.policy must be one of random, repeat"),
    ],
)
def test_bad_configs_name_what_to_fix(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, data))


def test_overrides_merge_into_sections(tmp_path):
    path = write(tmp_path, {"env": {"corridor_length": 5, "length_jitter": 1}})
    config = load_config(path, overrides={"env": {"length_jitter": 4}, "seed": 9})
    assert config.env.config.kwargs == {"corridor_length": 5, "length_jitter": 4}
    assert (config.env.max_episode_steps, config.seed) == (9, 9)


def test_overrides_merge_at_every_depth(tmp_path):
    path = write(tmp_path, {"env": {"corridor_length": 5},
                            "memup": {"lr": 0.002, "memory": {"hidden_size": 64}}})
    config = load_config(path, overrides={"memup": {"memory": {"cell": "gru"}}})
    assert (config.memup.memory.cell, config.memup.memory.hidden_size) == ("gru", 64)
    assert config.memup.lr == 0.002


def test_missing_file_says_where_presets_live(tmp_path):
    with pytest.raises(ConfigError, match="configs/"):
        load_config(tmp_path / "nope.yaml")


def test_training_env_kwargs_change_only_the_envs_impala_trains_on(tmp_path):
    path = write(tmp_path, {"env": {"corridor_length": 500},
                            "impala": {"train_env_kwargs": {"corridor_length": 50}}})
    config = load_config(path)
    assert config.env.corridor_length == 500
    assert config.impala.train_env_kwargs == {"corridor_length": 50}
    assert config.train_env.corridor_length == 50 and config.train_env.max_episode_steps == 60
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
