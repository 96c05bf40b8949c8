"""Phase II learns T-Maze-100 on a memory pretrained by MemUP (minutes; `make test-slow`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import tmaze_spec

from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.held_out import greedy_evaluate
from learner.impala.training import train_policy
from learner.memup import MemUPConfig
from learner.memup.serial import pretrain_memory

TMAZE = tmaze_spec(100)


@pytest.fixture(scope="module")
def pretrained_memory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Phase I on random-policy episodes until junction accuracy >= 0.99."""
    path = tmp_path_factory.mktemp("memup") / "memory.pt"
    metrics = pretrain_memory(TMAZE, MemUPConfig(), 2000, path)
    assert metrics["memup/junction_accuracy"] >= 0.99, metrics
    return path


@pytest.fixture(scope="module")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_frozen_pretrained_memory_reaches_99_percent_greedy_success(
    pretrained_memory: Path, ray_session, tmp_path: Path
) -> None:
    impala = ImpalaConfig(max_env_steps=600_000, eval_every_iterations=1)
    result = train_policy(TMAZE, impala, memory_path=pretrained_memory,
                          policy_dir=tmp_path / "policy", progress=False)
    assert result["reached_target"] and result["success_rate"] >= 0.99, result
    # Training stopped on the evaluation set; a larger, fresh held-out set must agree.
    policy = RLModule.from_checkpoint(tmp_path / "policy")
    fresh = greedy_evaluate(policy, TMAZE, episodes=1000, seed=impala.eval_seed + 1)
    assert fresh.success_rate >= 0.99, fresh
