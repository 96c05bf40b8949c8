"""Learners and the run around them: MemUP pretraining (phase I), IMPALA (phase II), pipeline.

    config = load_config("configs/tmaze-1000.yaml")
    figures = run_pipeline(config, RunDir.create("runs/demo"))   # see learner/pipeline.py
"""

from learner.config import ConfigError, RunConfig, load_config, save_config
from learner.episodes import generate_episodes
from learner.memup_learner import MemUPLearner, start_memup_learner
from learner.metrics import MetricsWriter, read_metrics
from learner.run_dir import RunDir
from learner.trainer import MemUPTrainer

__all__ = [
    "ConfigError",
    "MemUPLearner",
    "MemUPTrainer",
    "MetricsWriter",
    "RunConfig",
    "RunDir",
    "generate_episodes",
    "load_config",
    "read_metrics",
    "save_config",
    "start_memup_learner",
]
