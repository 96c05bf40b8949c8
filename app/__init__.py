"""What a user runs: the `memup` command, the run pipeline and everything around it.

    config = load_config("configs/tmaze-1000.yaml")          # RunConfig, one section per part
    figures = run_pipeline(config, RunDir.create("runs/demo"))

    envs ─▶ actors (collect) ─▶ trajectory_store ─▶ learner.memup ─memory.pt─▶ learner.impala

`pipeline` is the only module that joins the phases (`learner.memup` and `learner.impala` never
import each other); `cli` is the `memup` command; `config` loads a preset into a `RunConfig`.
`services` starts Redis and Ray for a run, `report` and `length_report` write report.md,
`length_eval` evaluates a policy at other T-Maze lengths. Cluster operations: `cluster_node`
starts and stops a node's store, `submit` sends a run to a cluster as a Ray Job, `supervisor`
and `ray_failures` turn a lost Ray into one clear line. Nothing below this package imports it.
"""

from app.config import ConfigError, RunConfig, load_config, save_config
from app.pipeline import run_pipeline

__all__ = ["ConfigError", "RunConfig", "load_config", "run_pipeline", "save_config"]
