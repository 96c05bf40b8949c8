"""Runs a Ray-using `memup` command in a child process and explains an abrupt end.

When Ray's own processes die under a run (the local raylet killed, the machine out of memory),
Ray's core worker ends the driver process at once, from C++: no Python exception, no `finally`,
only `exit 1`. The parent here outlives that, tells the user what happened and how to
`--resume`. Errors the command itself reports keep their exit codes (2: bad input, 3: a Ray
failure raised in Python, 130: interrupted); an uncaught Python exception in the child exits
with `PYTHON_ERROR` so that it is not mistaken for Ray's abrupt exit.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

CHILD_ENV = "MEMUP_SUPERVISED_CHILD"
BAD_INPUT = 2
PYTHON_ERROR = 4
_HANDLED = {0, BAD_INPUT, 3, PYTHON_ERROR, 130}
_PR_SET_PDEATHSIG = 1


class UserError(Exception):
    """Input the user can fix (a path, a flag, an environment variable): `memup` prints the
    message, which names the fix, as one line and exits with `BAD_INPUT`, no traceback."""


def one_line(error: BaseException) -> str:
    """The error's message on one line; a YAML syntax error as its problem and position."""
    text = str(error).strip()
    found = error.__context__  # config_io raises its ConfigError `from None` inside the except
    if (isinstance(found, yaml.MarkedYAMLError) and found.problem_mark is not None
            and " is not valid YAML" in text):
        mark = found.problem_mark
        return (f"{text.split(' is not valid YAML')[0]} is not valid YAML: "
                f"{found.problem or found.context} (line {mark.line + 1}, column "
                f"{mark.column + 1}): fix it there")
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if len(lines) > 1:  # e.g. a server's log tail: its first and last lines
        return f"{lines[0]} ... {lines[-1]}"
    return lines[0] if lines else type(error).__name__


def is_child() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def run_supervised(argv: list[str], config: Path | None, run_dir: Path | None) -> int:
    """Runs `python -m app.cli ARGV` as a child and returns its exit code; after an abrupt
    end prints what was lost and the `--resume` command."""
    return supervise([sys.executable, "-m", "app.cli", *argv], config, run_dir)


def supervise(command: list[str], config: Path | None, run_dir: Path | None) -> int:
    """Runs `command` as the supervised child; see `run_supervised`. A SIGTERM sent to this
    process goes on to the child, and its end is then reported as that stop (Ray's driver
    aborts on SIGTERM, which would otherwise read as Ray failing under the run)."""
    env = {**os.environ, CHILD_ENV: "1"}
    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)
    terminated: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        terminated.append(signum)
        child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                continue  # Ctrl-C reaches the child too; wait for it to stop cleanly
    finally:
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        print(stopped_message(config, run_dir), file=sys.stderr)
        return 128 + signal.SIGTERM
    if code in _HANDLED:
        return code
    print(abrupt_end_message(code, config, run_dir), file=sys.stderr)
    return 3


def _how_to_resume(config: Path | None, run_dir: Path | None) -> str:
    command = "memup train" + (f" --config {config}" if config else "")
    command += f" --run-dir {run_dir}" if run_dir else " --run-dir <the run dir>"
    return ("The run dir keeps every finished phase (stored episodes, MemUP checkpoints, saved "
            f"policies). Continue with:\n    {command} --resume")


def stopped_message(config: Path | None, run_dir: Path | None) -> str:
    return "memup: stopped by SIGTERM. " + _how_to_resume(config, run_dir)


def abrupt_end_message(code: int, config: Path | None, run_dir: Path | None) -> str:
    cause = (f"was killed by signal {signal.Signals(-code).name}" if code < 0
             else f"ended abruptly (exit {code})")
    return (f"memup: the run's process {cause}: Ray's own processes or the machine failed "
            "under it (Ray ends its driver this way when this machine's raylet or object store "
            "dies; see the lines above and /tmp/ray/session_latest/logs).\n"
            + _how_to_resume(config, run_dir))


def _die_with_parent() -> None:
    """The child gets SIGKILL if the parent dies, so `kill -9` of `memup` stops the run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the child may outlive a killed parent
