"""IMPALA's torch learner with one extra optimizer for a trainable memory, and memory swaps.

Only `configure_optimizers_for_module` changes (IMPALA's threads, queues and loss are
untouched): the heads get Adam at `lr`; the memory, when it trains, gets its own Adam at
`lr x memory_lr_multiplier` (Adam is invariant to gradient scale, so a gradient-scaling hook
could not change its step size). A frozen memory is in no optimizer at all. RLlib clips each
optimizer's gradients to `grad_clip` separately, so heads and memory have their own norm budget.

`offer_memory(algo, weights, version)` (the online loop) hands the learner a new memory; the
learner's own update thread loads it before its next update, so no update ever sees half a
swap, and the next weight broadcast takes it (and `memory_version`) to the EnvRunners.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner

MEMORY_LR_MULTIPLIER = "memory_lr_multiplier"
"""Key of `AlgorithmConfig.learner_config_dict` holding the multiplier."""


class MemUPImpalaLearner(IMPALATorchLearner):
    def build(self, **kwargs: Any) -> None:
        super().build(**kwargs)
        self._offer_lock = threading.Lock()
        self._offered: tuple[dict[str, np.ndarray], int] | None = None

    def take_memory(self, weights: dict[str, np.ndarray], version: int) -> None:
        """Keeps `weights` (a memory state dict) to load before the next update."""
        with self._offer_lock:
            self._offered = (weights, version)

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        with self._offer_lock:
            offered, self._offered = self._offered, None
        if offered is not None:
            weights, version = offered
            module = self.module[DEFAULT_MODULE_ID].unwrapped()
            with torch.no_grad():
                module.memory.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
                module.memory_version.fill_(version)

    def configure_optimizers_for_module(
        self, module_id: str, config: AlgorithmConfig | None = None
    ) -> None:
        module = self.module[module_id].unwrapped()
        memory = {id(p) for p in module.memory.parameters()}
        heads = [p for p in module.parameters() if id(p) not in memory and p.requires_grad]
        self.register_optimizer(
            module_id=module_id, optimizer=torch.optim.Adam(heads), params=heads,
            lr_or_lr_schedule=config.lr,
        )
        trainable = [p for p in module.memory.parameters() if p.requires_grad]
        if trainable:
            multiplier = float(config.learner_config_dict.get(MEMORY_LR_MULTIPLIER, 1.0))
            self.register_optimizer(
                module_id=module_id, optimizer_name="memory",
                optimizer=torch.optim.Adam(trainable), params=trainable,
                lr_or_lr_schedule=config.lr * multiplier,
            )


def offer_memory(algo: Any, weights: dict[str, np.ndarray], version: int) -> None:
    """Gives every IMPALA learner of `algo` a new memory (see `MemUPImpalaLearner.take_memory`)."""
    algo.learner_group.foreach_learner(
        lambda learner: learner.take_memory(weights, version))


def memory_version(algo: Any) -> int:
    """The memory version `algo`'s learner runs (restored with a checkpoint)."""
    results = algo.learner_group.foreach_learner(
        lambda learner: int(learner.module[DEFAULT_MODULE_ID].unwrapped().memory_version))
    return max(result.get() for result in results)
