"""Split over worker processes, the streamed evaluation gives the figures of one process."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from envs import tmaze_spec
from learner.impala.evaluation import workers as eval_workers
from learner.impala.evaluation.workers import evaluate_streamed
from learner.impala.evaluation.held_out import held_out_seeds
from learner.impala.evaluation.streaming import stream_evaluate
from policies import small_policy

TMAZE = tmaze_spec(40, length_jitter=5)


def test_two_workers_give_the_figures_of_one_process(tmp_path, monkeypatch):
    torch.manual_seed(3)
    policy = small_policy(TMAZE, hidden_size=16, head_hiddens=(16,), encoder_size=8)
    with torch.no_grad():
        policy.policy_head.mlp[-1].weight.mul_(20.0)  # decisive logits, varied actions
    policy.save_to_path(tmp_path / "policy")
    seeds = held_out_seeds(5, 33)  # an odd count: shares of 17 and 16
    monkeypatch.setattr(eval_workers, "MIN_PARALLEL_ENV_STEPS", 0)

    split = evaluate_streamed(tmp_path / "policy", TMAZE, seeds, workers=2)
    whole = stream_evaluate(policy, TMAZE, seeds)

    assert split.greedy.episodes == whole.greedy.episodes == 33
    assert split.greedy.env_steps == whole.greedy.env_steps
    assert split.greedy.success_rate == pytest.approx(whole.greedy.success_rate)
    assert split.greedy.mean_return == pytest.approx(whole.greedy.mean_return)
    assert 0.0 < whole.greedy.success_rate < 1.0
    assert split.batched_steps == whole.batched_steps
    assert np.array_equal(split.cue_sides, whole.cue_sides)
    np.testing.assert_allclose(split.junction_memory, whole.junction_memory, atol=1e-5)


def test_a_failing_worker_is_an_error_that_shows_its_message(tmp_path, monkeypatch):
    monkeypatch.setattr(eval_workers, "MIN_PARALLEL_ENV_STEPS", 0)
    with pytest.raises(RuntimeError, match="evaluation worker failed"):
        evaluate_streamed(tmp_path / "no-policy-here", TMAZE, held_out_seeds(5, 4), workers=2)
