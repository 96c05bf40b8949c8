"""Phase I without a store or Ray: MemUP on freshly generated random-policy episodes.

    metrics = pretrain_memory(tmaze_spec(100), MemUPConfig(), 2000, "memory.pt")
"""

from __future__ import annotations

import os

from envs import EnvSpec
from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.training import Metrics, MemUPTrainer


def pretrain_memory(env: EnvSpec, config: MemUPConfig, num_episodes: int,
                    path: str | os.PathLike, seed: int = 1) -> Metrics:
    """Serial phase I on freshly generated random-policy episodes (no store, no Ray): trains
    until the target accuracy or the budget and writes the memory file to `path`."""
    trainer = MemUPTrainer(config, InMemorySource(generate_episodes(env, num_episodes, seed)),
                           env)
    try:
        metrics = trainer.train_until(progress=False)
        trainer.export_memory(path)
    finally:
        trainer.close()
    return metrics
