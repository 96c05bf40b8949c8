"""Real RLlib IMPALA on a POPGym env with a tiny memory (local Ray, 2 CPUs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
import torch
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import EnvConfig, describe_env
from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.held_out import greedy_evaluate, sampled_evaluate
from learner.impala.training import train_policy
from memup_module import Memory, MemoryConfig, save_memory

pytest.importorskip("popgym")

REPEAT_FIRST = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",)))
TINY = dict(num_env_runners=0, num_envs_per_env_runner=16, rollout_fragment_length=16,
            max_seq_len=17, train_batch_size_per_learner=512, minibatch_size=256, lr=0.01,
            eval_every_iterations=2, eval_episodes=200, max_env_steps=2048)


@pytest.fixture(scope="module")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def tiny_memory(path: Path, **sizes: int) -> Path:
    torch.manual_seed(5)
    return save_memory(path, Memory(MemoryConfig(hidden_size=16, **sizes)))


def test_train_policy_on_popgym_reports_returns_and_mmer(ray_session, tmp_path: Path) -> None:
    memory = tiny_memory(tmp_path / "memory.pt", obs_dim=4, num_actions=4)
    logged: list[tuple[int, dict]] = []
    impala = ImpalaConfig(**TINY)
    result = train_policy(REPEAT_FIRST, impala, memory_path=memory,
                          policy_dir=tmp_path / "policy",
                          on_metrics=lambda step, m: logged.append((step, m)), progress=False)
    # Other envs train for the whole budget, whatever their success rate.
    assert result["env_steps"] >= impala.max_env_steps and not result["reached_target"]
    assert {"mean_return", "sampled_mean_return", "mmer", "success_rate"} <= set(result)
    assert -1.0 <= result["mean_return"] <= 1.0
    last = logged[-1][1]
    assert {"impala/mean_return", "impala/sampled_mean_return", "impala/mmer"} <= set(last)
    mmers = [m["impala/mmer"] for _, m in logged]
    assert mmers == sorted(mmers) and result["mmer"] == mmers[-1]
    assert all(m["impala/mmer"] >= m["impala/sampled_mean_return"] for _, m in logged)
    # Fewer training episodes than RLlib's smoothing window (100): their mean stays out of MMER.
    assert last["impala/episodes"] < 100
    assert result["mmer"] == max(m["impala/sampled_mean_return"] for _, m in logged)
    policy = RLModule.from_checkpoint(tmp_path / "policy")
    again = greedy_evaluate(policy, REPEAT_FIRST, impala.eval_episodes, impala.eval_seed)
    assert again.mean_return == result["mean_return"]
    sampled = sampled_evaluate(policy, REPEAT_FIRST, impala.eval_episodes, impala.eval_seed)
    assert sampled.mean_return == result["sampled_mean_return"]


def test_a_memory_made_for_another_env_is_refused_before_ray_starts(tmp_path: Path) -> None:
    tmaze_memory = tiny_memory(tmp_path / "memory.pt")  # obs_dim 3, 2 actions
    with pytest.raises(ValueError, match="3 observation values and 2 actions.*4 and 4"):
        train_policy(REPEAT_FIRST, ImpalaConfig(**TINY), memory_path=tmaze_memory,
                     policy_dir=tmp_path / "policy", progress=False)
