"""Peer benchmark: Sample Factory 2.1.1's APPO with an LSTM policy beside our two-phase pipeline
and our IMPALA-LSTM baseline, same tasks, same cores, same run (docs/results.md §9).

Sample Factory pins gymnasium < 1.0 and numpy < 2, so it lives in a venv of its own,
bench/.venv-sample-factory, created here once (a stamp file holds the pins it was made with); its
APPO runs there as a subprocess (bench/peer/sample_factory_runner.py) whose log is read line by
line. Per task:

- Sample Factory: env steps/s with learning, the wall time and env steps at which the mean of the
  last 100 training episodes (sampled actions) first reaches the goal (success rate 0.99 on the
  T-Maze, mean return 0.99 on RepeatFirst), where it is stopped; else its best at the budget.
- ours (`run_preset`, baseline included): the same figures from the run's held-out greedy
  evaluations; the two-phase time counts the whole run (collection and MemUP included).

    python -m bench.peer_sample_factory                 # every task, both systems
    BENCH_TASKS=tmaze-100 BENCH_SYSTEMS=sample-factory BENCH_MAX_ENV_STEPS=200000 \\
        python -m bench.peer_sample_factory
    BENCH_SYSTEMS=sample-factory BENCH_PEER_ARGS="--num_envs_per_worker=16" \\
        python -m bench.peer_sample_factory             # a row with other Sample Factory settings
    BENCH_PEER_TINY=1 python -m bench.peer_sample_factory   # peer only, 1 worker, 4 096 steps,
                                                            # printed, not recorded
    python -m bench.peer_sample_factory --table         # the table of the recorded rows

Rows accumulate in bench/results/peer_sample_factory.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.common import fmt_count, read_rows
from bench.peer_log import GOAL, WINDOW, PeerLog, PeerTask
from bench.popgym import record_row

ROOT = Path(__file__).resolve().parent.parent
NAME = "peer_sample_factory"
PEER_VENV = ROOT / "bench" / ".venv-sample-factory"
RUNNER = ROOT / "bench" / "peer" / "sample_factory_runner.py"
# torch is pinned to the project's version (an unpinned one pulls the CUDA wheels); popgym to
# pyproject's `envs` extra (tests/unit/test_peer_parse.py checks both).
PEER_REQUIREMENTS = ("sample-factory==2.1.1", "torch==2.13.0", "gymnasium<1.0", "numpy<2",
                     "popgym==1.0.7")
TASKS = ("tmaze-100", "tmaze-1000", "popgym-repeat-first-medium")
SYSTEMS = ("sample-factory", "ours")
SYSTEM_NAMES = {"sf": "SF APPO-LSTM", "two-phase": "ours two-phase",
                "baseline": "ours IMPALA-LSTM baseline"}
TINY_STEPS = 4096

def peer_task(preset: str, budget: int | None = None) -> PeerTask:
    """The task of `configs/<preset>.yaml`, with its LSTM size (memup.memory.hidden_size),
    discount, entropy bonus and env-step budget (impala.max_env_steps unless `budget`)."""
    from app.config import load_config

    config = load_config(ROOT / "configs" / f"{preset}.yaml")
    spec = config.env
    low, high = (spec.reward_values[0], spec.reward_values[-1]) if spec.reward_values else (0, 1)
    return PeerTask(preset, spec.config.id, dict(spec.config.kwargs),
                    ",".join(spec.config.imports),
                    "success_rate" if spec.reports_success else "mean_return", float(low),
                    float(high), config.memup.memory.hidden_size, config.impala.gamma,
                    config.impala.entropy_coeff, budget or config.impala.max_env_steps, config.seed)


def ensure_peer_venv(venv: Path = PEER_VENV) -> Path:
    """The peer venv's python, installed once with PEER_REQUIREMENTS (again if they change)."""
    python, stamp = venv / "bin" / "python", venv / ".bench-installed"
    wanted = "\n".join(PEER_REQUIREMENTS) + "\n"
    if python.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pip>=24"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)
    stamp.write_text(wanted)
    return python


def default_workers() -> int:
    """The cores this process may use: Sample Factory gets one env worker per core."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def peer_command(task: PeerTask, python: Path, workers: int, train_dir: Path,
                 extra: tuple[str, ...] = ()) -> list[str]:
    """The runner's command line: Sample Factory's defaults but for the LSTM, discount, entropy
    bonus, cores and budget, which follow ours, then `extra` (Sample Factory arguments; the
    last of a repeated one wins)."""
    return [str(python), str(RUNNER), f"--peer_gym_id={task.gym_id}",
            f"--peer_gym_kwargs={json.dumps(task.gym_kwargs)}",
            f"--peer_gym_import={task.gym_import}", f"--peer_window={WINDOW}",
            "--use_rnn=True", "--rnn_type=lstm", f"--rnn_size={task.rnn_size}",
            f"--gamma={task.gamma}", f"--exploration_loss_coeff={task.entropy_coeff}",
            f"--num_workers={workers}",
            f"--train_for_env_steps={task.budget}", f"--seed={task.seed}",
            f"--stats_avg={WINDOW}", f"--train_dir={train_dir}", "--experiment=sf",
            "--restart_behavior=overwrite", "--save_every_sec=1000000",
            "--save_best_every_sec=1000000", "--with_wandb=False", *extra]


def run_peer(task: PeerTask, python: Path, workers: int, out_dir: Path,
             extra: tuple[str, ...] = ()) -> dict:
    """Runs Sample Factory on `task` until the goal (then stops it) or the budget; its log goes
    to out_dir/peer.log. No process of it outlives this call, also on errors and Ctrl-C."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log = PeerLog(task)
    start = time.monotonic()
    process = subprocess.Popen(peer_command(task, python, workers, out_dir / "train_dir", extra),
                               cwd=out_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", start_new_session=True)
    try:
        with (out_dir / "peer.log").open("w") as copy:
            assert process.stdout is not None
            for line in process.stdout:
                copy.write(line)
                if log.feed(line, time.monotonic() - start):
                    break
    finally:
        stop_group(process, out_dir)
    wall_s = time.monotonic() - start
    if log.goal_s is None and process.returncode != 0:
        raise RuntimeError(f"Sample Factory exited with {process.returncode}; see "
                           f"{out_dir / 'peer.log'}")
    system = " ".join(("sf", *extra))  # rows with other Sample Factory settings stay apart
    return {"task": task.name, "env_id": task.gym_id, "system": system, "measure": task.measure,
            "budget": task.budget, "workers": workers, "rnn_size": task.rnn_size,
            "env_steps_per_s": log.env_steps_per_s(), "env_steps_per_s_60s": log.rate_60s,
            "sf_final_fps": log.final_fps, "reached_goal": log.goal_s is not None,
            "time_to_goal_s": log.goal_s, "env_steps_to_goal": log.goal_env_steps,
            "best": log.best, "best_env_steps": log.best_env_steps, "last": log.last_value,
            "sf_avg_last": log.sf_avg_value, "episodes": log.episodes, "env_steps": log.env_steps,
            "wall_s": wall_s, "measured_on": f"training episodes, sampled, last {WINDOW}",
            "run_dir": _relative(out_dir)}


def stop_group(process: subprocess.Popen, directory: Path, timeout_s: float = 30.0) -> None:
    """Kills the runner's process group (its Sample Factory workers with it), then waits for
    whatever else it started in `directory`: torch's shared-memory manager sits in a session of
    its own and exits by itself once it has freed the segments; it is killed only if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    deadline = time.monotonic() + timeout_s
    while (left := leftovers(directory, process.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        print(f"peer: process {pid} still there after {timeout_s:.0f} s, killed", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def leftovers(directory: Path, pgid: int | None = None) -> list[int]:
    """Live (not zombie) processes working in `directory` or in process group `pgid`."""
    import psutil

    directory, found = directory.resolve(), []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if (pgid is not None and os.getpgid(proc.pid) == pgid) or \
                    Path(proc.cwd()) == directory:
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def run_ours(task: PeerTask) -> list[dict]:
    """Our two-phase run with the baseline on the same budget: a row for each."""
    from learner.metrics import read_metrics
    from bench.common import run_preset

    overrides = {"name": f"bench-peer-{task.name}", "baseline": True,
                 "impala": {"max_env_steps": task.budget}}
    config, run, figures = run_preset(task.name, overrides, "bench-peer", task.name)
    records = read_metrics(run.metrics)
    # Our own part of the run before each phase II's timed loop: Ray, Redis, collection, MemUP.
    phase2 = {p: (figures.get(f"{p}setup_s") or 0.0) + (figures.get(f"{p}wall_s") or 0.0)
              for p in ("impala/", "impala/baseline_")}
    before = (figures.get("run/wall_s") or 0.0) - sum(phase2.values())
    rows = []
    for system, prefix, offset in (("two-phase", "impala/", before),
                                   ("baseline", "impala/baseline_", 0.0)):
        row = ours_row(task, records, prefix, offset + (figures.get(f"{prefix}setup_s") or 0.0))
        row.update({"system": system, "env_steps": figures.get(f"{prefix}env_steps"),
                    "wall_s": phase2[prefix] + (before if system == "two-phase" else 0.0),
                    "collected_env_steps": figures.get("store/steps") if system == "two-phase"
                    else None, "run_dir": _relative(run.root), "env_id": config.env.config.id})
        rows.append(row)
    return rows


def ours_row(task: PeerTask, records: list[dict], prefix: str, offset_s: float) -> dict:
    """Goal, best and rate from one policy's evaluation records; time to goal = offset_s + the
    loop's wall (evaluations included) at the first record at the goal."""
    key = f"{prefix}{task.measure}"
    points = [r for r in records if r.get(key) is not None]
    at_goal = next((r for r in points if r[key] >= GOAL), None)
    best = max(points, key=lambda r: r[key]) if points else None
    sampled = [r[f"{prefix}sampled_mean_return"] for r in points
               if r.get(f"{prefix}sampled_mean_return") is not None]
    return {"task": task.name, "measure": task.measure, "budget": task.budget,
            "rnn_size": task.rnn_size,
            "env_steps_per_s": points[-1].get(f"{prefix}env_steps_per_s") if points else None,
            "reached_goal": at_goal is not None,
            "time_to_goal_s": offset_s + at_goal[f"{prefix}wall_s"] if at_goal else None,
            "env_steps_to_goal": at_goal[f"{prefix}env_steps"] if at_goal else None,
            "best": best[key] if best else None,
            "best_env_steps": best[f"{prefix}env_steps"] if best else None,
            "best_sampled_return": max(sampled) if sampled else None,
            "measured_on": "held-out episodes, greedy"}


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def markdown_table(rows: list[dict]) -> list[str]:
    lines = ["| task | system | env steps/s with learning | time to goal | env steps to goal | "
             "best at budget | measured on |", "|---|---|---|---|---|---|---|"]
    order = list(SYSTEM_NAMES)
    for row in sorted(rows, key=lambda r: (_index(TASKS, r["task"]), r["task"],
                                           _index(order, r["system"].split()[0]), r["system"])):
        steps = fmt_count(row.get("env_steps_to_goal"))
        if row.get("collected_env_steps") and row.get("reached_goal"):
            steps += f" (+ {fmt_count(row['collected_env_steps'])} collected for MemUP)"
        best = "–" if row.get("best") is None else (
            f"{row['best']:.3f} {row['measure'].replace('_', ' ')} at "
            f"{fmt_count(row.get('best_env_steps'))} of {fmt_count(row.get('budget'))}")
        time_cell = "–" if row.get("time_to_goal_s") is None else f"{row['time_to_goal_s']:.0f} s"
        lines.append(f"| {row['task']} | {_system_name(row['system'])} | "
                     f"{fmt_count(row.get('env_steps_per_s'))} | {time_cell} | {steps} | {best} | "
                     f"{row.get('measured_on', '–')} |")
    return lines


TABLE_NOTE = ("Sample Factory's figure is the mean over its last 100 training episodes (sampled "
              "actions); ours are held-out greedy evaluations, whose time is in our time to goal. "
              "The two-phase time counts the whole run: Ray and Redis start-up, collection, MemUP "
              "and phase II.")


def _system_name(system: str) -> str:
    """The table's name of a row's system; Sample Factory with extra settings shows them."""
    if system.startswith("sf "):
        return f"{SYSTEM_NAMES['sf']} ({system[3:]})"
    return SYSTEM_NAMES.get(system, system)


def _index(items, item) -> int:
    return list(items).index(item) if item in items else len(items)


def main() -> int:
    rows = read_rows(NAME)
    if "--table" in sys.argv:
        print("\n".join(markdown_table(rows)) + "\n\n" + TABLE_NOTE)
        return 0
    tiny = os.environ.get("BENCH_PEER_TINY") == "1"
    tasks = os.environ.get("BENCH_TASKS", "tmaze-100" if tiny else ",".join(TASKS)).split(",")
    systems = (["sample-factory"] if tiny
               else os.environ.get("BENCH_SYSTEMS", ",".join(SYSTEMS)).split(","))
    budget = os.environ.get("BENCH_MAX_ENV_STEPS") or (TINY_STEPS if tiny else None)
    if unknown := [s for s in systems if s not in SYSTEMS] + [t for t in tasks if t not in TASKS]:
        print(f"unknown BENCH_SYSTEMS / BENCH_TASKS {unknown}; choose from {SYSTEMS} / {TASKS}",
              file=sys.stderr)
        return 2
    for name in tasks:
        task = peer_task(name, int(budget) if budget else None)
        if "sample-factory" in systems:
            print(f"== {name} / Sample Factory APPO-LSTM ({task.budget:,} env steps)", flush=True)
            out = ROOT / "runs" / "bench-peer" / f"{name}-sf-{time.strftime('%Y%m%d-%H%M%S')}"
            row = run_peer(task, ensure_peer_venv(), 1 if tiny else default_workers(), out,
                           tuple(os.environ.get("BENCH_PEER_ARGS", "").split()))
            print(row, flush=True)
            if tiny:
                continue
            rows = record_row(NAME, rows, row, ("task", "system"))
        if "ours" in systems:
            print(f"== {name} / ours: two-phase + IMPALA-LSTM baseline", flush=True)
            for row in run_ours(task):
                rows = record_row(NAME, rows, row, ("task", "system"))
    if not tiny:
        print("\n".join(markdown_table(rows)) + "\n\n" + TABLE_NOTE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
