"""The whole run, phase by phase: collect → pretrain (MemUP) → IMPALA (→ baseline) → report;
with `mode: online`, collect → MemUP and IMPALA together (app.online) (→ baseline) → report.

    config = load_config("configs/tmaze-1000.yaml")
    figures = run_pipeline(config, RunDir.create("runs/demo"))

Each phase is also a function of its own (`ensure_episodes`, `pretrain`, `train_policy_phase`),
used by the `memup collect | pretrain | policy | train` commands. A resumed run skips the phases
whose outputs exist and continues MemUP from its newest checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import ray

from app.collect import ensure_episodes
from app.config import RunConfig
from app.online import train_online
from learner.impala import train_policy
from learner.memup import start_memup_learner
from learner.metrics import MetricsWriter
from app.peak_memory import PeakMemory, merge_peaks
from app.report import run_title, write_report
from learner.run_dir import RunDir
from app.services import dashboard_help, ray_for_run, redis_for_run
from trajectory_store import StoreHandle

log = logging.getLogger(__name__)


def pretrain(config: RunConfig, run: RunDir, redis_url: str) -> dict[str, Any]:
    """Trains MemUP in the `memup-learner` actor until the target accuracy or the update budget;
    writes `memup/memory.pt` and the detector's trace of one held-out episode."""
    source = StoreHandle(redis_url, run.store_name).connect
    learner = start_memup_learner(config.memup, config.env, source, run)
    start = time.perf_counter()
    try:
        metrics = ray.get(learner.train_until.remote())
        ray.get(learner.export_memory.remote(str(run.memory)))
        trace = ray.get(learner.detector_trace.remote())
        run.detector_trace.write_text(json.dumps(trace))
        ray.get(learner.close.remote())
    finally:
        ray.kill(learner)
    kept = ("memup/junction_accuracy", "memup/detector_hit_rate", "memup/memory_gain_nll",
            "memup/memory_gain_accuracy", "memup/uncertain_accuracy", "memup/context_accuracy",
            "memup/all_steps_gain_nll", "memup/last_step_gain_nll")
    return {
        **{key: metrics[key] for key in kept if key in metrics},
        "memup/updates": metrics.get("memup/step"),
        "memup/wall_s": time.perf_counter() - start,
    }


def train_policy_phase(config: RunConfig, run: RunDir, *, baseline: bool,
                       memory_path: Path | None = None) -> dict[str, Any]:
    """IMPALA on the pretrained memory (`memory_path`, default the run's), or for the baseline a
    fresh, trainable memory of the same architecture as that file's; saves the module."""
    memory = Path(memory_path or run.memory)
    with MetricsWriter(run.metrics) as writer:
        result = train_policy(config.env, config.impala, train_env=config.train_env,
                              memory_path=memory,
                              policy_dir=run.baseline_policy if baseline else run.policy,
                              baseline=baseline, on_metrics=writer.write,
                              checkpoint_dir=(run.baseline_checkpoints if baseline
                                              else run.policy_checkpoints))
    prefix = "impala/baseline_" if baseline else "impala/"
    return {f"{prefix}{k}": v for k, v in result.items() if k != "path"}


def _save_figures(run: RunDir, figures: dict[str, Any], started: float,
                  peaks: PeakMemory) -> dict[str, Any]:
    """Writes figures.json after each phase, so that a resumed run, which skips the finished
    phases, still reports their figures; run/wall_s adds this process's time to the saved, and
    the peak memory of each process is the larger of the saved and this process's."""
    saved = {**figures, **merge_peaks(figures, peaks.figures()),
             "run/wall_s": figures.get("run/wall_s", 0.0) + time.perf_counter() - started}
    run.figures.write_text(json.dumps(saved, indent=2))
    return saved


def finished(resume: bool, artifact: Path, figures: dict[str, Any], key: str) -> bool:
    """Whether a resumed run skips a phase: its artifact is saved *and* its figures are. A run
    stopped between the two (the artifact is written first) runs the phase again."""
    return resume and artifact.exists() and key in figures


def run_pipeline(config: RunConfig, run: RunDir, *, resume: bool = False,
                 baseline: bool | None = None, dashboard: bool = True) -> dict[str, Any]:
    """Every phase on embedded Redis and a local Ray (or `MEMUP_REDIS_URL` / `RAY_ADDRESS`)."""
    figures: dict[str, Any] = {}
    if resume and run.figures.exists():
        figures = json.loads(run.figures.read_text())
    started = time.perf_counter()
    with PeakMemory() as peaks, redis_for_run(run.redis) as redis_url, \
            ray_for_run(dashboard=dashboard) as cluster:
        if cluster["dashboard_url"]:
            print(dashboard_help(cluster["dashboard_url"]), flush=True)
        print(f"metrics: {run.metrics}\nreport:  {run.report}", flush=True)
        stats = ensure_episodes(config, run, redis_url)
        figures.update({"store/episodes": stats.episodes, "store/steps": stats.steps})
        if config.mode == "online":
            if not finished(resume, run.policy / "metadata.json", figures, "impala/env_steps"):
                figures.update(train_online(config, run, redis_url))
                _save_figures(run, figures, started, peaks)
        else:
            if not finished(resume, run.memory, figures, "memup/updates"):
                figures.update(pretrain(config, run, redis_url))
                _save_figures(run, figures, started, peaks)
            if not finished(resume, run.policy / "metadata.json", figures, "impala/env_steps"):
                figures.update(train_policy_phase(config, run, baseline=False))
                _save_figures(run, figures, started, peaks)
        if config.baseline if baseline is None else baseline:
            if not finished(resume, run.baseline_policy / "metadata.json", figures,
                            "impala/baseline_env_steps"):
                figures.update(train_policy_phase(config, run, baseline=True))
    figures = _save_figures(run, figures, started, peaks)
    write_report(run, figures, title=run_title(run, config.name))
    return figures
