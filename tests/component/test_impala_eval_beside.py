"""Held-out rounds beside IMPALA training: figures as in line, the evaluated weights saved."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import EnvSpec, tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.held_out import GreedyResult, greedy_evaluate
from learner.impala.evaluation.rounds import BesideRounds, InLineRounds, merge
from learner.impala.training import train_policy
from memup_module import Memory, MemoryConfig, save_memory

TMAZE = tmaze_spec(6, length_jitter=2)
SMALL = dict(num_envs_per_env_runner=16, rollout_fragment_length=8, max_seq_len=9,
             train_batch_size_per_learner=128, minibatch_size=64, lr=0.01,
             eval_every_iterations=1, eval_sampled=False, eval_screen_episodes=16,
             eval_success_claim=0.95)


@pytest.fixture()
def memory_file(tmp_path: Path) -> Path:
    torch.manual_seed(3)
    return save_memory(tmp_path / "memup" / "memory.pt", Memory(MemoryConfig(hidden_size=32)))


def test_beside_training_saves_the_weights_its_last_round_evaluated(
        ray_local, memory_file: Path, tmp_path: Path) -> None:
    logged: list[tuple[int, dict]] = []
    impala = ImpalaConfig(**SMALL, max_env_steps=1024, target_success=1.0,
                          eval_beside_training=True)
    result = train_policy(TMAZE, impala, memory_path=memory_file,
                          policy_dir=tmp_path / "policy",
                          on_metrics=lambda step, m: logged.append((step, m)), progress=False)
    steps = [step for step, _ in logged]
    assert steps == sorted(steps) and steps[-1] <= result["env_steps"]
    # Training went on while rounds ran: fewer rounds than iterations.
    assert 1 <= len(logged) < result["iterations"]
    last = logged[-1][1]
    assert last["impala/eval_episodes"] in (16, 59)
    policy = RLModule.from_checkpoint(tmp_path / "policy")
    again = greedy_evaluate(policy, TMAZE, int(last["impala/eval_episodes"]), impala.eval_seed)
    assert again.success_rate == result["success_rate"] == last["impala/success_rate"]


def test_a_round_beside_gives_what_a_round_in_line_gives(ray_local, memory_file: Path,
                                                         tmp_path: Path) -> None:
    impala = ImpalaConfig(**SMALL, max_env_steps=256, target_success=0.0)
    train_policy(TMAZE, impala, memory_path=memory_file, policy_dir=tmp_path / "policy",
                 progress=False)
    policy = RLModule.from_checkpoint(tmp_path / "policy")
    in_line, beside = InLineRounds(TMAZE, impala), BesideRounds(TMAZE, impala)
    try:
        in_line.start(policy, 7, whole_set=False)
        beside.start(policy, 7, whole_set=False)
        assert beside.busy
        ours, theirs = in_line.poll(), beside.wait()
    finally:
        beside.close()
    assert not beside.busy and theirs.env_steps == ours.env_steps == 7
    # Target 0: the screen passes, so both ran the rest too and merged the two parts.
    assert theirs.greedy == ours.greedy and ours.greedy.episodes == 59
    assert ours.greedy == greedy_evaluate(policy, TMAZE, 59, impala.eval_seed)


def test_merge_weighs_each_part_by_its_episodes() -> None:
    merged = merge(GreedyResult(1.0, 4.0, 16, 160), GreedyResult(0.5, 1.0, 48, 480))
    assert merged == GreedyResult(0.625, 1.75, 64, 640)


def test_beside_training_is_refused_where_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="greedy evaluation only"):
        ImpalaConfig(eval_beside_training=True, eval_sampled=True)
    no_cue = EnvSpec.from_plain({"id": "CartPole-v1"})
    with pytest.raises(ValueError, match="junction cue"):
        BesideRounds(no_cue, ImpalaConfig(eval_beside_training=True, eval_sampled=False))
