"""MemUP configs: validated on construction, with messages that say what to change."""

import dataclasses

import pytest

from learner.memup import MemUPConfig

from memup_module import MemoryConfig


def test_defaults_are_the_designed_ones():
    config = MemUPConfig()
    assert (config.batch_slots, config.lr, config.grad_clip, config.top_k) == (64, 5e-4, 1.0, 1)
    assert (config.memory.cell, config.memory.hidden_size, config.memory.encoder_size) == (
        "lstm", 256, 64)
    assert config.memory.input_size == 6
    assert config.targets_per_step == 2


def test_nested_memory_mapping_and_asdict_round_trip():
    config = MemUPConfig(memory={"cell": "gru", "hidden_size": 32}, return_range=[-3, 4])
    assert config.memory == MemoryConfig(cell="gru", hidden_size=32)
    assert config.return_range == (-3, 4)
    assert MemUPConfig(**dataclasses.asdict(config)) == config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "value"}, "target must be one of reward, return"),
        ({"detector_score": "variance"}, "detector_score must be one of"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
        ({"slot_horizon": "prefix"}, "slot_horizon must be one of episode, log_uniform"),
        ({"rollout": 0}, "rollout must be >= 1"),
        ({"batch_slots": 2.5}, "batch_slots must be an integer"),
        ({"lr": 0.0}, "lr must be a number in (0.0, 1.0]"),
        ({"gamma": 1.5}, "gamma must be a number in [0.0, 1.0]"),
        ({"include_self": 1}, "include_self must be true or false"),
        ({"return_range": (4, -3)}, "return_range must be null or [low, high]"),
        ({"memory": {"cell": "rnn"}}, "memory.cell must be one of lstm, gru"),
        ({"memory": {"hidden_size": 0}}, "memory.hidden_size must be >= 1"),
    ],
)
def test_bad_values_are_rejected_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError) as error:
        MemUPConfig(**kwargs)
    assert message in str(error.value)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MemUPConfig().lr = 1.0
