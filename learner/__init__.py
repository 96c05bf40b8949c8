"""The run: collect → pretrain the memory (phase I) → IMPALA on it (phase II) → report.

    config = load_config("configs/tmaze-1000.yaml")          # RunConfig, one section per part
    figures = run_pipeline(config, RunDir.create("runs/demo"))

    envs ─▶ actors (collect) ─▶ trajectory_store ─▶ learner.memup ─memory.pt─▶ learner.impala

`pipeline` is the only module that joins the phases (`learner.memup` and `learner.impala` never
import each other); `cli` is the `memup` command. `run_dir` names every path of a run, `metrics`
writes metrics.jsonl and Ray gauges; both phases use these two, which import nothing else of
`learner`. `services` starts Redis and Ray for a run, `report` writes report.md.
"""

from learner.config import ConfigError, RunConfig, load_config, save_config
from learner.metrics import MetricsWriter, read_metrics
from learner.pipeline import run_pipeline
from learner.run_dir import RunDir

__all__ = [
    "ConfigError",
    "MetricsWriter",
    "RunConfig",
    "RunDir",
    "load_config",
    "read_metrics",
    "run_pipeline",
    "save_config",
]
