"""IMPALA's torch learner with one extra optimizer for a trainable memory.

Only `configure_optimizers_for_module` changes (IMPALA's threads, queues and loss are
untouched): the heads get Adam at `lr`; the memory, when it trains, gets its own Adam at
`lr x memory_lr_multiplier` (Adam is invariant to gradient scale, so a gradient-scaling hook
could not change its step size). A frozen memory is in no optimizer at all. RLlib clips each
optimizer's gradients to `grad_clip` separately, so heads and memory have their own norm budget.
"""

from __future__ import annotations

import torch
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner

MEMORY_LR_MULTIPLIER = "memory_lr_multiplier"
"""Key of `AlgorithmConfig.learner_config_dict` holding the multiplier."""


class MemUPImpalaLearner(IMPALATorchLearner):
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
