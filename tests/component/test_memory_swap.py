"""A new memory swapped into a training IMPALA: the learner loads it between updates, the
EnvRunners get it with the next weight broadcast, and nothing else is reset (heads, optimiser
state, recurrent state shapes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns

from envs import tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.learner import offer_memory
from learner.impala.algo_config import build_impala_config
from learner.impala.training import module_settings
from memup_module import Memory, MemoryConfig, save_memory

TMAZE = tmaze_spec(6, length_jitter=2)
IMPALA = ImpalaConfig(num_envs_per_env_runner=8, rollout_fragment_length=8, max_seq_len=9,
                      train_batch_size_per_learner=64, minibatch_size=64,
                      min_time_s_per_iteration=0)
ARCHITECTURE = MemoryConfig(hidden_size=16)


def heads(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()
            if not k.startswith("memory")}


def adam_steps(learner) -> list[float]:
    return [float(state["step"]) for optimizer in learner._named_optimizers.values()
            for state in optimizer.state.values()]


def test_a_swapped_memory_reaches_learner_and_env_runners_and_resets_nothing_else(
        ray_local, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model_config = module_settings(IMPALA, baseline=False, memory_path=save_memory(
        tmp_path / "memory.pt", Memory(ARCHITECTURE)))
    algo = build_impala_config(TMAZE, IMPALA, model_config).build_algo()
    try:
        learner = algo.learner_group._learner
        runner = algo.env_runner_group.local_env_runner
        for _ in range(3):
            algo.train()
        module = learner.module[DEFAULT_MODULE_ID]
        heads_before, steps_before = heads(module), adam_steps(learner)
        state_shapes = {k: v.shape for k, v in runner.module.get_initial_state().items()}
        assert steps_before and int(module.memory_version) == 0

        new_memory = Memory(ARCHITECTURE)  # another random memory of the same architecture
        weights = {k: v.numpy().copy() for k, v in new_memory.state_dict().items()}
        offer_memory(algo, weights, version=1)
        for _ in range(3):
            algo.train()

        for name, value in module.memory.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), weights[name])
        assert int(module.memory_version) == 1
        for name, value in runner.module.memory.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), weights[name])
        assert int(runner.module.memory_version) == 1
        # The heads went on from where they were (a few Adam steps of at most ~lr each), and
        # the optimiser's step counts kept counting.
        for name, value in heads(module).items():
            step = (value - heads_before[name]).abs().max().item()
            assert step < 20 * IMPALA.lr, name
        assert all(a > b for a, b in zip(adam_steps(learner), steps_before))
        # The EnvRunners' recurrent state keeps its shapes.
        assert {k: v.shape for k, v in runner.module.get_initial_state().items()} == state_shapes
        for episode in runner.sample(explore=True):
            state_out = episode.get_extra_model_outputs(Columns.STATE_OUT, -1)
            assert {k: v.shape for k, v in state_out.items()} == state_shapes
    finally:
        algo.stop()
