"""Real RLlib IMPALA with MemUPPolicyModule on a short Noisy T-Maze (local Ray, 2 CPUs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import ray
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.rl_module import RLModule

from app.config import training_env
from envs import tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.held_out import greedy_evaluate
from learner.impala.algo_config import build_impala_config
from learner.impala.training import module_settings, train_policy
from memup_module import Memory, MemoryConfig, save_memory
from memup_module.rl_module import MemUPPolicyModule

TMAZE = tmaze_spec(6, length_jitter=2)
SMALL = dict(num_envs_per_env_runner=16, rollout_fragment_length=8, max_seq_len=9,
             train_batch_size_per_learner=128, minibatch_size=64, lr=0.01,
             eval_every_iterations=1, eval_episodes=200)


@pytest.fixture(scope="module")
def ray_session():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture()
def memory_file(tmp_path: Path) -> Path:
    torch.manual_seed(3)
    return save_memory(tmp_path / "memup" / "memory.pt", Memory(MemoryConfig(hidden_size=32)))


def weights(algo) -> dict[str, np.ndarray]:
    return algo.learner_group.get_weights([DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID]


def changed(before: dict, after: dict, prefix: str) -> list[bool]:
    return [not np.array_equal(before[k], after[k]) for k in before if k.startswith(prefix)]


@pytest.mark.parametrize("free_cpus", [0.0, 1.0], ids=["driver-learner", "learner-actor"])
def test_iterations_train_the_heads_and_leave_the_frozen_memory_bit_identical(
    ray_session, memory_file: Path, free_cpus: float
) -> None:
    impala = ImpalaConfig(**SMALL)  # num_learners "auto": an actor where Ray has a CPU free
    model_config = module_settings(impala, memory_path=memory_file, baseline=False)
    algo = build_impala_config(TMAZE, impala, model_config, free_cpus=free_cpus).build_algo()
    try:
        assert algo.learner_group.is_local == (free_cpus < 1)
        before = weights(algo)
        results = [algo.train() for _ in range(2)]
        after = weights(algo)
        runner_memory = algo.env_runner.module.memory.state_dict()
        # The sampling module gets the heads the learner trained some updates later (IMPALA
        # learns asynchronously, an actor more so).
        for _ in range(30):
            runner_heads = {k: v.numpy() for k, v in algo.env_runner.module.state_dict().items()
                            if k.startswith("policy_head.")}
            if all(changed(runner_heads, before, "policy_head.")):
                break
            algo.train()
    finally:
        algo.stop()
    assert all(changed(runner_heads, before, "policy_head."))
    assert results[-1]["env_runners"]["num_env_steps_sampled_lifetime"] >= 2 * 128
    memory_keys = [k for k in before if k.startswith("memory.")]
    assert memory_keys and not any(changed(before, after, "memory."))
    pretrained = torch.load(memory_file, weights_only=True)["state_dict"]
    assert all(torch.equal(runner_memory[k], pretrained[k]) for k in pretrained)
    assert all(changed(before, after, "policy_head."))
    assert any(changed(before, after, "value_head."))


def test_train_policy_saves_a_restorable_policy_and_reports_each_evaluation(
    ray_session, memory_file: Path, tmp_path: Path
) -> None:
    logged: list[tuple[int, dict]] = []
    impala = ImpalaConfig(**SMALL, max_env_steps=384, target_success=1.0)
    result = train_policy(TMAZE, impala, memory_path=memory_file,
                          policy_dir=tmp_path / "policy",
                          on_metrics=lambda step, m: logged.append((step, m)), progress=False)
    assert result["env_steps"] >= 384 and result["iterations"] == len(logged) >= 3
    assert {"impala/success_rate", "impala/mean_return", "impala/env_steps",
            "impala/env_steps_per_s"} <= set(logged[-1][1])
    assert [step for step, _ in logged] == sorted(step for step, _ in logged)
    # Rounds below the target ran only the screening episodes; the last one, out of budget,
    # ran the whole held-out set.
    episodes = [(m["impala/eval_episodes"], m["impala/success_rate"]) for _, m in logged]
    assert all(n == impala.eval_screen_episodes for n, rate in episodes[:-1] if rate < 1.0)
    assert episodes[-1][0] == impala.eval_episodes
    memory_file.unlink()  # the saved policy carries its memory weights
    policy = RLModule.from_checkpoint(tmp_path / "policy")
    assert isinstance(policy, MemUPPolicyModule)
    again = greedy_evaluate(policy, TMAZE, impala.eval_episodes, impala.eval_seed)
    assert again.success_rate == result["success_rate"]
    assert again.mean_return == result["mean_return"]


def test_baseline_trains_a_random_memory_and_writes_baseline_policy(
    ray_session, memory_file: Path, tmp_path: Path
) -> None:
    logged: list[dict] = []
    impala = ImpalaConfig(**SMALL, max_env_steps=256, target_success=1.0,
                          memory_lr_multiplier=2.0)
    train_policy(TMAZE, impala, memory_path=memory_file,
                 policy_dir=tmp_path / "baseline_policy", baseline=True,
                 on_metrics=lambda step, m: logged.append(m), progress=False)
    baseline = RLModule.from_checkpoint(tmp_path / "baseline_policy")
    assert not baseline.freeze_memory
    assert baseline.memory.config == MemoryConfig(hidden_size=32)  # the pretrained architecture
    assert "impala/baseline_success_rate" in logged[-1]
    assert not (tmp_path / "policy").exists()


def test_baseline_memory_trains_with_its_own_optimizer(ray_session, memory_file: Path) -> None:
    impala = ImpalaConfig(**SMALL, memory_lr_multiplier=0.5)
    model_config = module_settings(impala, memory_path=memory_file, baseline=True)
    assert model_config["memory_path"] is None and not model_config["freeze_memory"]
    algo = build_impala_config(TMAZE, impala, model_config).build_algo()
    try:
        before = weights(algo)
        algo.train()
        after = weights(algo)
        lrs = algo.learner_group.foreach_learner(
            lambda learner: {name: opt.param_groups[0]["lr"] for name, opt
                             in learner.get_optimizers_for_module(DEFAULT_MODULE_ID)}
        )
        lrs = next(iter(lrs)).get()
    finally:
        algo.stop()
    assert all(changed(before, after, "memory.rnn."))
    assert lrs == {"default_optimizer": pytest.approx(0.01), "memory": pytest.approx(0.005)}


def test_missing_memory_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="--memory"):
        train_policy(TMAZE, ImpalaConfig(**SMALL), memory_path=tmp_path / "memup" / "memory.pt",
                     policy_dir=tmp_path / "policy", progress=False)


def test_train_env_kwargs_without_the_env_they_give_are_refused(tmp_path: Path) -> None:
    impala = ImpalaConfig(**SMALL, train_env_kwargs={"corridor_length": 3})
    with pytest.raises(ValueError, match="pass train_env"):
        train_policy(TMAZE, impala, memory_path=None, baseline=True,
                     policy_dir=tmp_path / "policy", progress=False)


def test_train_env_kwargs_train_on_short_mazes_and_evaluate_on_the_runs_own(
    ray_session, memory_file: Path, tmp_path: Path
) -> None:
    logged: list[dict] = []
    run_maze = tmaze_spec(40, length_jitter=0)
    impala = ImpalaConfig(**SMALL, max_env_steps=256, target_success=1.0,
                          train_env_kwargs={"corridor_length": 3})
    train_policy(run_maze, impala, train_env=training_env(run_maze, impala.train_env_kwargs),
                 memory_path=memory_file, policy_dir=tmp_path / "policy",
                 on_metrics=lambda step, m: logged.append(m), progress=False)
    # 16 steps per sub-env: 40-step mazes would have ended no episode, 3-step ones several each.
    assert logged[-1]["impala/episodes"] >= 3 * SMALL["num_envs_per_env_runner"]
    # The held-out episodes are the run's 40-step mazes.
    assert logged[-1]["impala/eval_env_steps"] == 40 * logged[-1]["impala/eval_episodes"]
