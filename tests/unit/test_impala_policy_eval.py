"""Greedy evaluation on held-out mazes, checked with a hand-set policy that provably remembers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs import tmaze_spec
from envs.episode_rng import cue_sides, extra_lengths
from learner.impala.evaluation.held_out import greedy_evaluate, held_out_seeds
from policies import remembering, small_policy

TMAZE = tmaze_spec(30, length_jitter=5)
EPISODES, SEED = 200, 11


def module():
    return small_policy(TMAZE)


def test_remembering_policy_always_succeeds() -> None:
    result = greedy_evaluate(remembering(module()), TMAZE, EPISODES, SEED)
    assert result.success_rate == 1.0 and result.mean_return == 4.0
    assert result.episodes == EPISODES
    seeds = held_out_seeds(SEED, EPISODES)
    lengths = TMAZE.corridor_length + extra_lengths(seeds, TMAZE.config.tmaze.length_jitter)
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
