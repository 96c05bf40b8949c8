"""IMPALA's algorithm checkpoints: a second `train_policy` on the same checkpoint dir continues
where the first stopped (weights, optimiser, env-step count, memory version); a finished
phase removes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

from envs import tmaze_spec
from learner.impala.checkpoint import AlgoCheckpoints
from learner.impala.config import ImpalaConfig
from learner.impala.learner import memory_version, offer_memory
from learner.impala.algo_config import build_impala_config
from learner.impala.training import module_settings, train_policy
from memup_module import Memory, MemoryConfig, save_memory

TMAZE = tmaze_spec(6, length_jitter=2)
IMPALA = ImpalaConfig(num_envs_per_env_runner=8, rollout_fragment_length=8, max_seq_len=9,
                      train_batch_size_per_learner=64, minibatch_size=64,
                      checkpoint_every_iterations=2, max_env_steps=640, eval_every_iterations=5,
                      eval_episodes=200)


def memory_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_memory(tmp_path / "memory.pt", Memory(MemoryConfig(hidden_size=16)))


def test_a_restored_algorithm_continues_where_it_was_saved(ray_local, tmp_path: Path) -> None:
    model_config = module_settings(IMPALA, memory_path=memory_file(tmp_path), baseline=False)
    checkpoints = AlgoCheckpoints(tmp_path / "ckpt", every=2)
    algo = build_impala_config(TMAZE, IMPALA, model_config).build_algo()
    try:
        for _ in range(3):
            algo.train()
        offer_memory(algo, {k: v.numpy() for k, v in Memory(MemoryConfig(hidden_size=16))
                            .state_dict().items()}, version=4)
        result = algo.train()
        checkpoints.save(algo)
        steps = result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME]
        weights = algo.learner_group.get_weights([DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID]
    finally:
        algo.stop()
    assert checkpoints.latest() is not None
    again = build_impala_config(TMAZE, IMPALA, model_config).build_algo()
    try:
        assert checkpoints.restore(again)
        restored = again.learner_group.get_weights([DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID]
        for name, value in weights.items():
            np.testing.assert_array_equal(restored[name], value, err_msg=name)
        assert memory_version(again) == 4
        result = again.train()
        assert result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME] > steps
    finally:
        again.stop()


def test_train_policy_keeps_checkpoints_while_it_runs_and_drops_them_at_the_end(
        ray_local, tmp_path: Path) -> None:
    seen: list[bool] = []
    checkpoint_dir = tmp_path / "policy_checkpoints"

    def watch(algo) -> dict[str, float]:
        seen.append((checkpoint_dir / "latest").is_file())
        return {}

    train_policy(TMAZE, IMPALA, memory_path=memory_file(tmp_path), policy_dir=tmp_path / "p",
                 checkpoint_dir=checkpoint_dir, after_iteration=watch, progress=False)
    assert any(seen) and not checkpoint_dir.exists()
    assert (tmp_path / "p").is_dir()


def test_saves_after_a_restore_count_on_and_keep_the_restored_checkpoint_until_done(
        ray_local, tmp_path: Path) -> None:
    model_config = module_settings(IMPALA, memory_path=memory_file(tmp_path), baseline=False)
    checkpoints = AlgoCheckpoints(tmp_path / "ckpt", every=1)
    algo = build_impala_config(TMAZE, IMPALA, model_config).build_algo()
    try:
        algo.train()
        checkpoints.after_iteration(algo)
        first = checkpoints.latest()
        resumed = AlgoCheckpoints(tmp_path / "ckpt", every=1)
        assert resumed.restore(algo)
        algo.train()
        resumed.after_iteration(algo)
    finally:
        algo.stop()
    # A save after the restore got a folder of its own: the one it continued from was never
    # deleted before the new one was complete.
    assert resumed.latest() != first and resumed.latest().name.endswith("2")
    assert not first.exists()
