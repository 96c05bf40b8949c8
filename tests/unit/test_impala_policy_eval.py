"""Greedy evaluation on held-out mazes, checked with a hand-set policy that provably remembers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import TMazeConfig
from envs.episode_rng import cue_sides, extra_lengths
from learner.impala.env import make_tmaze_env
from learner.impala.policy_eval import greedy_evaluate, held_out_seeds
from memup_module.rl_module import MemUPPolicyModule, policy_model_config

TMAZE = TMazeConfig(corridor_length=30, length_jitter=5)
EPISODES, SEED = 200, 11


def module() -> MemUPPolicyModule:
    env = make_tmaze_env(TMAZE.env_kwargs())
    return RLModuleSpec(
        module_class=MemUPPolicyModule, observation_space=env.observation_space,
        action_space=env.action_space,
        model_config=policy_model_config(memory={"hidden_size": 8, "encoder_size": 2},
                                         head_hiddens=(2,)),
    ).build()


def remembering(policy: MemUPPolicyModule) -> MemUPPolicyModule:
    """LSTM cell 0 latches the cue (input gate open only at the cue, forget gate ~1); the policy
    turns right when it holds +1 (the right cue) and left when it holds -1."""
    memory, head, hidden = policy.memory, policy.policy_head, policy.memory.config.hidden_size
    with torch.no_grad():
        for p in [*memory.parameters(), *head.parameters()]:
            p.zero_()
        memory.encoder.weight[0, 0], memory.encoder.weight[1, 0] = 1.0, -1.0
        w, b = memory.rnn.weight_ih_l0, memory.rnn.bias_ih_l0
        b[0], w[0, 0], w[0, 1] = -10.0, 20.0, 20.0  # input gate
        b[hidden] = 20.0  # forget gate
        w[2 * hidden, 0], w[2 * hidden, 1] = 5.0, -5.0  # candidate = ±1
        b[3 * hidden] = 20.0  # output gate
        first, last = head.mlp[0], head.mlp[2]
        first.weight[0, 0], first.weight[1, 0] = 1.0, -1.0  # relu(m0), relu(-m0)
        last.weight[1, 0], last.weight[0, 1] = 10.0, 10.0  # right <- m0 > 0, left <- m0 < 0
    return policy


def test_remembering_policy_always_succeeds() -> None:
    result = greedy_evaluate(remembering(module()), TMAZE, EPISODES, SEED)
    assert result.success_rate == 1.0 and result.mean_return == 4.0
    assert result.episodes == EPISODES
    seeds = held_out_seeds(SEED, EPISODES)
    lengths = TMAZE.corridor_length + extra_lengths(seeds, TMAZE.length_jitter)
    assert result.env_steps == lengths.sum()


def test_policy_without_memory_succeeds_only_on_one_cue_side() -> None:
    policy = module()
    with torch.no_grad():
        for p in policy.policy_head.parameters():
            p.zero_()  # equal logits: argmax always picks 0 (left)
    result = greedy_evaluate(policy, TMAZE, EPISODES, SEED)
    left_cues = float(np.mean(cue_sides(held_out_seeds(SEED, EPISODES)) == 0))
    assert result.success_rate == left_cues
    assert result.mean_return == pytest.approx(left_cues * 4.0 + (1 - left_cues) * -3.0)


def test_held_out_set_is_fixed_by_the_seed() -> None:
    assert np.array_equal(held_out_seeds(3, 50), held_out_seeds(3, 50))
    assert not np.array_equal(held_out_seeds(3, 50), held_out_seeds(4, 50))
    policy = remembering(module())
    assert greedy_evaluate(policy, TMAZE, 200, 5) == greedy_evaluate(policy, TMAZE, 200, 5)
