"""Ray dying under `memup train` (its raylet SIGKILLed): the command says what happened and how
to --resume, and the resumed run finishes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below `pid`."""
    table = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True)
    children: dict[int, list[tuple[int, str]]] = {}
    for line in table.stdout.splitlines():
        parts = line.split(None, 2)
        children.setdefault(int(parts[1]), []).append((int(parts[0]), parts[2] if len(parts) > 2
                                                        else ""))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def memup_train(run_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", "train", "--config", str(SMOKE),
                             "--run-dir", str(run_dir), "--no-dashboard", *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_raylet_ends_the_run_with_the_resume_command_and_resume_finishes(tmp_path):
    run_dir = tmp_path / "run"
    process = memup_train(run_dir)
    seen: list[tuple[int, str]] = []
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "memup" / "checkpoints").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.5)
        seen = descendants(process.pid)
        raylets = [pid for pid, args in seen if Path(args.split()[0]).name == "raylet"]
        assert raylets, seen
        for pid in raylets:
            os.kill(pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        for pid, _ in seen:  # what Ray left behind, by pid only
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert process.returncode == 3, stderr[-3000:]
    assert f"--run-dir {run_dir} --resume" in stderr
    assert "Ray" in stderr.split("memup:")[-1]
    resumed = memup_train(run_dir, "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, (out + err)[-3000:]
    assert (run_dir / "policy").is_dir() and (run_dir / "report.md").is_file()
