"""The fast evaluator is `greedy_evaluate` without the machinery: same actions, same results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from envs import NoisyTMazeVectorEnv, tmaze_spec
from envs.episode_rng import cue_sides, extra_lengths
from learner.impala.evaluation.cue_probe import CueProbe
from learner.impala.evaluation.held_out import greedy_evaluate, held_out_seeds
from learner.impala.evaluation.streaming import stream_evaluate
from memup_module.greedy_step import GreedyStepper
from policies import remembering, small_policy

TMAZE = tmaze_spec(30, length_jitter=5)
EPISODES, SEED = 200, 11


def decisive(policy):
    """Decisive logits, varied actions: the policy head's last layer scaled up."""
    with torch.no_grad():
        policy.policy_head.mlp[-1].weight.mul_(20.0)


@pytest.mark.parametrize(("init_seed", "cell", "head_hiddens"),
                         [(0, "lstm", (16,)), (1, "lstm", (16,)), (2, "lstm", (16, 8)),
                          (3, "gru", (16,)), (4, "lstm", ())])
def test_streamed_results_equal_greedy_evaluate_on_the_same_seeds(init_seed, cell, head_hiddens):
    # A random policy: its actions before the junction feed the memory (x_t holds a_{t-1}), so
    # any action that differed would change later states, junction choices and returns.
    torch.manual_seed(init_seed)
    policy = small_policy(TMAZE, hidden_size=16, head_hiddens=head_hiddens, encoder_size=8,
                          cell=cell)
    decisive(policy)
    streamed = stream_evaluate(policy, TMAZE, held_out_seeds(SEED, EPISODES))
    reference = greedy_evaluate(policy, TMAZE, EPISODES, SEED)
    assert streamed.greedy == reference
    assert 0.0 < reference.success_rate < 1.0


def test_chunks_shorter_than_an_episode_change_nothing():
    torch.manual_seed(5)
    policy = small_policy(TMAZE, hidden_size=16, head_hiddens=(16,), encoder_size=8)
    decisive(policy)
    seeds = held_out_seeds(SEED, 50)
    whole = stream_evaluate(policy, TMAZE, seeds, chunk_steps=1000)
    chunked = stream_evaluate(policy, TMAZE, seeds, chunk_steps=7)
    assert chunked.greedy == whole.greedy
    np.testing.assert_allclose(chunked.junction_memory, whole.junction_memory, atol=1e-6)


def test_observations_known_ahead_are_those_the_env_steps_to():
    maze = NoisyTMazeVectorEnv(8, corridor_length=20, length_jitter=4)
    maze.reset(seed=3)
    lengths = maze.episode_lengths.copy()
    ahead = maze.observations_at(np.minimum(np.arange(30)[:, None], lengths - 1))
    stepped = [maze.reset(options={"episode_seeds": maze.episode_seeds.copy()})[0]]
    stepped += [maze.step(np.zeros(8, np.int64))[0] for _ in range(29)]
    assert len(set(lengths)) > 1
    for t in range(30):
        inside = t < lengths  # past its junction a sub-env ends, then restarts
        np.testing.assert_array_equal(ahead[t][inside], stepped[t][inside])


def test_episodes_of_different_lengths_end_on_their_own_junction():
    seeds = held_out_seeds(SEED, EPISODES)
    result = stream_evaluate(remembering(small_policy(TMAZE)), TMAZE, seeds)
    lengths = TMAZE.corridor_length + extra_lengths(seeds, TMAZE.config.tmaze.length_jitter)
    assert len(set(lengths)) > 1
    assert result.greedy.success_rate == 1.0 and result.greedy.mean_return == 4.0
    assert result.greedy.env_steps == lengths.sum()
    assert result.batched_steps == lengths.max()
    assert np.array_equal(result.cue_sides, cue_sides(seeds))
    # The remembering memory's cell 0 holds the cue: +1 for right, -1 for left.
    assert np.array_equal(result.junction_memory[:, 0] > 0, result.cue_sides == 1)


def test_a_probe_fitted_at_one_length_reads_the_cue_at_a_hundred_times_it():
    policy = remembering(small_policy(TMAZE))
    fit = stream_evaluate(policy, tmaze_spec(10, length_jitter=2), held_out_seeds(1, 64))
    probe = CueProbe.fit(fit.junction_memory, fit.cue_sides)
    test = stream_evaluate(policy, tmaze_spec(1000, length_jitter=2), held_out_seeds(2, 32))
    assert probe.fit_accuracy == 1.0
    assert probe.accuracy(test.junction_memory, test.cue_sides) == 1.0
    assert test.greedy.success_rate == 1.0


@pytest.mark.parametrize(("cell", "head_hiddens"),
                         [("lstm", (16,)), ("gru", (16, 8)), ("lstm", ())])
def test_greedy_steps_equal_the_modules_forward_over_the_sequence(cell, head_hiddens):
    # The stepper only calls the module's precompute/step methods: its memories and actions
    # are forward_inference's over the same inputs, the actions it took fed back as a_{t-1}.
    torch.manual_seed(6)
    policy = small_policy(TMAZE, hidden_size=16, head_hiddens=head_hiddens, encoder_size=8,
                          cell=cell)
    decisive(policy)
    episodes, steps = 32, 40
    obs = torch.randn(steps, episodes, 3)
    stepper = GreedyStepper(policy)
    pending = stepper.precompute(obs)
    state, actions, taken, memories = stepper.initial_state(episodes), None, [], []
    for k in range(steps):
        actions, m, state = stepper.step(pending, k, actions, state)
        taken.append(actions)
        memories.append(m)
    taken = torch.stack(taken, 1)
    x = torch.zeros(episodes, steps, 6)
    x[..., :3] = obs.transpose(0, 1)
    x[:, 1:, 3:5] = torch.nn.functional.one_hot(taken[:, :-1], 2).float()
    initial = {key: torch.zeros(episodes, 16) for key in policy.get_initial_state()}
    out = policy.forward_inference({Columns.OBS: x, Columns.STATE_IN: initial})
    with torch.no_grad():
        expected_m, _ = policy.memory(x)
    assert 0 < taken.float().mean() < 1
    assert torch.equal(out[Columns.ACTION_DIST_INPUTS].argmax(-1), taken)
    torch.testing.assert_close(torch.stack(memories, 1), expected_m, atol=1e-5, rtol=1e-5)
