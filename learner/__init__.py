"""The two learners and what both share.

    learner/memup/    phase I: MemUP pretrains the memory on episodes from the store
    learner/impala/   phase II: RLlib IMPALA trains policy and value heads on that memory

Both phase folders have the same shape: `config.py` (the phase's settings), `learner.py` (the
learner class Ray runs), `training.py` (the training loop), `evaluation` (held-out scores) and
`inputs/` (what feeds the loop: store episodes into slots; the EnvRunners' env, connectors and batched EnvRunner).
They never import each other: `memory.pt` is all phase I hands phase II, joined by
`app.pipeline`. Shared here: `run_dir` names every path of a run, `metrics` writes
metrics.jsonl and Ray gauges, `progress` draws a progress bar.
"""

from learner.metrics import MetricsWriter, read_metrics
from learner.run_dir import RunDir

__all__ = ["MetricsWriter", "RunDir", "read_metrics"]
