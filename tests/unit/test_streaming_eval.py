"""The fast evaluator is `greedy_evaluate` without the machinery: same actions, same results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs import TMazeConfig
from envs.episode_rng import cue_sides, extra_lengths
from learner.impala.cue_probe import CueProbe
from learner.impala.policy_eval import greedy_evaluate, held_out_seeds
from learner.impala.streaming_eval import stream_evaluate
from policies import remembering, small_policy

TMAZE = TMazeConfig(corridor_length=30, length_jitter=5)
EPISODES, SEED = 200, 11


@pytest.mark.parametrize("init_seed", [0, 1, 2])
def test_streamed_results_equal_greedy_evaluate_on_the_same_seeds(init_seed):
    # A random policy: its actions before the junction feed the memory (x_t holds a_{t-1}), so
    # any action that differed would change later states, junction choices and returns.
    torch.manual_seed(init_seed)
    policy = small_policy(TMAZE, hidden_size=16, head_hiddens=(16,), encoder_size=8)
    with torch.no_grad():
        policy.policy_head.mlp[-1].weight.mul_(20.0)  # decisive logits, varied actions
    streamed = stream_evaluate(policy, TMAZE, held_out_seeds(SEED, EPISODES))
    reference = greedy_evaluate(policy, TMAZE, EPISODES, SEED)
    assert streamed.greedy == reference
    assert 0.0 < reference.success_rate < 1.0


def test_episodes_of_different_lengths_end_on_their_own_junction():
    seeds = held_out_seeds(SEED, EPISODES)
    result = stream_evaluate(remembering(small_policy(TMAZE)), TMAZE, seeds)
    lengths = TMAZE.corridor_length + extra_lengths(seeds, TMAZE.length_jitter)
    assert len(set(lengths)) > 1
    assert result.greedy.success_rate == 1.0 and result.greedy.mean_return == 4.0
    assert result.greedy.env_steps == lengths.sum()
    assert result.batched_steps == lengths.max()
    assert np.array_equal(result.cue_sides, cue_sides(seeds))
    # The remembering memory's cell 0 holds the cue: +1 for right, -1 for left.
    assert np.array_equal(result.junction_memory[:, 0] > 0, result.cue_sides == 1)


def test_a_probe_fitted_at_one_length_reads_the_cue_at_a_hundred_times_it():
    policy = remembering(small_policy(TMAZE))
    fit = stream_evaluate(policy, TMazeConfig(10, 2), held_out_seeds(1, 64))
    probe = CueProbe.fit(fit.junction_memory, fit.cue_sides)
    test = stream_evaluate(policy, TMazeConfig(1000, 2), held_out_seeds(2, 32))
    assert probe.fit_accuracy == 1.0
    assert probe.accuracy(test.junction_memory, test.cue_sides) == 1.0
    assert test.greedy.success_rate == 1.0
