"""cluster.yaml and cluster-local.yaml pass Ray's own cluster-launcher validation, offline."""

import copy
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["cluster.yaml", "cluster-local.yaml"])
def test_cluster_config_validates(name):
    config = yaml.safe_load((ROOT / name).read_text())
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]
    starts = " ".join(prepared["head_start_ray_commands"])
    assert "memup node start --head" in starts and "--dashboard-host=127.0.0.1" in starts
    assert prepared["setup_commands"] == ["cd ~/memup-rl && make install PYTHON=python3"]
    # Every node gets the submitting machine's token: token authentication stays on.
    assert prepared["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


@pytest.mark.parametrize("name", ["cluster.yaml", "cluster-local.yaml"])
def test_start_commands_name_the_interpreter_and_stop_only_this_project(name):
    config = yaml.safe_load((ROOT / name).read_text())
    commands = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    for command in commands:
        program = command.split(";")[-1].split()[0]
        assert program == "~/memup-rl/.venv/bin/memup", command
        assert "pkill" not in command and "killall" not in command
        assert not command.strip().startswith("ray stop"), command


def test_aws_cluster_has_gpu_head_and_autoscaling_cpu_workers():
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    head = config["available_node_types"][config["head_node_type"]]
    assert head["node_config"]["InstanceType"].startswith(("g", "p"))
    workers = config["available_node_types"]["cpu_worker"]
    assert workers["max_workers"] > workers["min_workers"]
    assert ".venv" in config["rsync_exclude"]
