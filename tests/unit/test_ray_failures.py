"""Ray failing under a run becomes a message naming the loss and the --resume command."""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import ray.exceptions as ray_errors

from app import cli, supervisor
from app.ray_failures import ray_loss, resume_hint


def test_ray_losses_are_named_and_the_runs_own_errors_are_not():
    assert "raylet" in ray_loss(ray_errors.LocalRayletDiedError())
    assert ray_loss(ray_errors.NodeDiedError("node 1 died")) == "a Ray node"
    assert "object" in ray_loss(ray_errors.ObjectLostError("ab" * 14, "owner", "call site"))
    wrapped = RuntimeError("training failed")
    wrapped.__cause__ = ray_errors.ActorDiedError()
    assert ray_loss(wrapped) == "a Ray actor, after its restarts"
    assert ray_loss(ValueError("a bug of ours")) is None
    task_error = ray_errors.RayTaskError("f", "Traceback ...", ValueError("bug"))
    assert ray_loss(task_error) is None


def test_the_hint_names_the_resume_command():
    message = resume_hint(ray_errors.NodeDiedError("node 10.0.0.2 died"), "a Ray node",
                          Path("configs/tmaze-1000.yaml"), Path("runs/t"))
    assert "lost a Ray node" in message and "node 10.0.0.2 died" in message
    assert "memup train --config configs/tmaze-1000.yaml --run-dir runs/t --resume" in message


def test_the_cli_turns_a_ray_failure_into_exit_code_3(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(supervisor.CHILD_ENV, "1")  # in this process: the command is patched here

    def lose_the_node(args):
        args.resolved_run_dir = tmp_path / "run"
        raise ray_errors.NodeDiedError("node died")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser.set_defaults(func=lose_the_node)
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(func=lose_the_node)
    assert cli.main(["train", "--config", "configs/smoke.yaml"]) == 3
    assert f"--run-dir {tmp_path / 'run'} --resume" in capsys.readouterr().err

    def bug(args):
        raise ValueError("our own bug")

    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(func=bug)
    assert cli.main(["train", "--config", "configs/smoke.yaml"]) == supervisor.PYTHON_ERROR
    assert "our own bug" in capsys.readouterr().err  # with its traceback, not a Ray hint


def test_an_abrupt_end_names_the_signal_and_the_resume_command():
    message = supervisor.abrupt_end_message(-9, Path("configs/smoke.yaml"), Path("runs/s"))
    assert "killed by signal SIGKILL" in message
    assert "memup train --config configs/smoke.yaml --run-dir runs/s --resume" in message
    assert "exit 1" in supervisor.abrupt_end_message(1, None, None)


def test_a_sigterm_goes_on_to_the_child_and_is_reported_as_a_stop(tmp_path, capsys):
    # The child aborts on SIGTERM, as Ray's driver does: that must not read as Ray failing.
    ready = tmp_path / "ready"
    child = ("import os, signal, time, pathlib\n"
             "signal.signal(signal.SIGTERM, lambda *_: os.abort())\n"
             f"pathlib.Path({str(ready)!r}).touch()\n"
             "time.sleep(60)\n")

    def terminate_when_ready():
        while not ready.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=terminate_when_ready, daemon=True)
    sender.start()
    code = supervisor.supervise([sys.executable, "-c", child], Path("configs/smoke.yaml"),
                                Path("runs/s"))
    sender.join(timeout=10)
    assert code == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "stopped by SIGTERM" in err and "Ray's own processes" not in err
    assert "memup train --config configs/smoke.yaml --run-dir runs/s --resume" in err
