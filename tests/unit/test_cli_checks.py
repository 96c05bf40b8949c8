"""`memup`'s inputs are checked before Ray starts, in the supervising parent and again in the
child that runs the command; each failure is one line naming the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import app.services
from app import cli, supervisor
from memup_module import Memory, MemoryConfig, load_memory
from trajectory_store.errors import StoreConnectionError

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"


@pytest.fixture
def no_ray(monkeypatch):
    """Ray, its servers and the child process fail the test if anything starts them."""
    def started(*_, **__):
        raise AssertionError("started before the inputs were checked")

    for name in ("ray_for_run", "redis_for_run"):
        monkeypatch.setattr(app.services, name, started)
    monkeypatch.setattr(supervisor, "run_supervised", started)
    monkeypatch.setattr("ray.init", started)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("MEMUP_REDIS_URL", raising=False)


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("memup: error: ")
    return lines[0]


@pytest.mark.parametrize("child", [False, True], ids=["parent", "child"])
def test_a_corrupt_memory_is_refused_before_ray(tmp_path, monkeypatch, capsys, no_ray, child):
    if child:
        monkeypatch.setenv(supervisor.CHILD_ENV, "1")
    else:
        monkeypatch.delenv(supervisor.CHILD_ENV, raising=False)
    corrupt = tmp_path / "memory.pt"
    corrupt.write_bytes(os.urandom(2048))
    code = cli.main(["policy", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run"),
                     "--memory", str(corrupt)])
    assert code == 2
    line = one_line_error(capsys)
    assert "not a memup-memory/1 memory file" in line and "weights_only" not in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["collect", "pretrain", "train"])
def test_an_unreachable_store_is_refused_before_ray(tmp_path, monkeypatch, capsys, no_ray,
                                                    command):
    monkeypatch.setenv(supervisor.CHILD_ENV, "1")
    monkeypatch.setenv("MEMUP_REDIS_URL", "redis://:pw@10.0.0.9:6380/0")

    def unreachable(url, **_):
        raise StoreConnectionError("cannot reach Redis at 10.0.0.9:6380 (1 attempt(s))")

    monkeypatch.setattr(app.services, "connect_redis", unreachable)
    code = cli.main([command, "--config", str(SMOKE), "--run-dir", str(tmp_path / "run")])
    assert code == 2
    line = one_line_error(capsys)
    assert "MEMUP_REDIS_URL: cannot reach Redis at 10.0.0.9:6380" in line and "pw" not in line
    assert "unset MEMUP_REDIS_URL" in line
    assert not (tmp_path / "run").exists()


def test_an_existing_run_without_resume_is_refused_in_the_parent(tmp_path, capsys, no_ray,
                                                                 monkeypatch):
    monkeypatch.delenv(supervisor.CHILD_ENV, raising=False)
    (tmp_path / "run" / "memup").mkdir(parents=True)
    assert cli.main(["train", "--config", str(SMOKE), "--run-dir", str(tmp_path / "run")]) == 2
    assert "add --resume" in one_line_error(capsys)


def test_memory_file_errors_never_pass_on_torchs_advice(tmp_path):
    pickled = tmp_path / "pickled.pt"
    torch.save(Memory(MemoryConfig(hidden_size=4)), pickled)
    with pytest.raises(ValueError) as caught:
        load_memory(pickled)
    message = str(caught.value)
    assert "pickled Python objects" in message and "weights_only" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    broken = tmp_path / "broken.pt"
    torch.save({"format": "memup-memory/1", "config": {"hidden_size": 4, "no_such": 1},
                "state_dict": {}}, broken)
    with pytest.raises(ValueError, match="do not build a memory .*memup pretrain"):
        load_memory(broken)


def test_one_line_keeps_a_yaml_errors_problem_and_position():
    import yaml

    from app.config_io import ConfigError

    try:
        try:
            yaml.safe_load("a: [1\nb: 2\n")
        except yaml.YAMLError:
            raise ConfigError("x.yaml is not valid YAML: while parsing\n  more\n") from None
    except ConfigError as error:
        line = supervisor.one_line(error)
    assert line.startswith("x.yaml is not valid YAML: ") and "line 2" in line
    assert "\n" not in line
    assert supervisor.one_line(RuntimeError("first\n  ...\nlast words")) == "first ... last words"
