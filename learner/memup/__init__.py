"""Phase I: MemUP pretraining of the memory on episodes from the trajectory store.

    learner = start_memup_learner(MemUPConfig(), env, source_factory, run)     # Ray actor
    ray.get(learner.train_until.remote())      # B slots x r steps per update, until
                                               # junction_accuracy >= target or the budget
    ray.get(learner.export_memory.remote())    # run.memory: the only thing phase II needs

One update (`MemUPTrainer.update` in `training`, serial, no Ray; `learner` is its Ray actor):
`inputs.prefetch` samples and `inputs.prepared` derives each episode's arrays on a thread,
`inputs.loader` scores them with the detector and selects U_t, `inputs.slots` hands out the
next r steps of every slot, the memory + predictor and the detector step. `evaluation` scores
held-out episodes from `inputs.episodes.generate_episodes`, never the store; `checkpoint` saves
everything the next update depends on.
"""

from learner.memup.learner import MemUPLearner, start_memup_learner
from learner.memup.config import MemUPConfig, with_env_sizes
from learner.memup.inputs.episodes import (
    EpisodeSource,
    InMemorySource,
    generate_episodes,
    generated_source,
)
from learner.memup.serial import pretrain_memory
from learner.memup.training import MemUPTrainer

__all__ = [
    "EpisodeSource",
    "InMemorySource",
    "MemUPConfig",
    "MemUPLearner",
    "MemUPTrainer",
    "generate_episodes",
    "generated_source",
    "pretrain_memory",
    "start_memup_learner",
    "with_env_sizes",
]
