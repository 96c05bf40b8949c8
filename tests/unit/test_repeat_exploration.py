"""EnvRunner exploration with held random actions: what it takes and the log-probs it reports."""

import numpy as np

from learner.impala.inputs.exploration import ExplorationSettings, RepeatExploration

LOG_PROBS = np.log(np.array([[0.7, 0.1, 0.1, 0.1]] * 4))


def test_off_leaves_the_policy_alone():
    exploration = RepeatExploration(ExplorationSettings(repeat_prob=0.0), num_actions=4)
    actions = np.array([0, 1, 2, 3])
    taken, logp = exploration.apply(actions, LOG_PROBS, np.zeros(4, bool))
    np.testing.assert_array_equal(taken, actions)
    np.testing.assert_allclose(logp, LOG_PROBS[np.arange(4), actions])


def test_a_held_run_is_certain_and_an_episode_start_ends_it():
    np.random.seed(0)
    exploration = RepeatExploration(
        ExplorationSettings(repeat_prob=1.0, repeat_exponent=1.01, max_repeat=1000), 4)
    policy = np.zeros(4, np.int64)
    first, logp0 = exploration.apply(policy, LOG_PROBS, np.zeros(4, bool))
    np.testing.assert_allclose(logp0, np.log(0.25))  # ε = 1: uniform at a run's start
    held = exploration._held.left > 0
    second, logp1 = exploration.apply(policy, LOG_PROBS, np.zeros(4, bool))
    np.testing.assert_array_equal(second[held], first[held])
    np.testing.assert_array_equal(logp1[held], 0.0)  # inside a run the action is certain
    fresh = np.array([True, False, False, False])
    exploration.apply(policy, LOG_PROBS, fresh)
    assert exploration._held.left[0] < 1000  # a new run was drawn for the new episode


def test_reported_log_probs_are_the_behaviour_frequencies():
    """Over many steps that start no run, the actions taken follow μ = (1-ε)π + ε/|A|."""
    np.random.seed(1)
    eps = 0.3
    exploration = RepeatExploration(
        ExplorationSettings(repeat_prob=eps, repeat_exponent=2.0, max_repeat=1), 4)
    rng = np.random.default_rng(2)
    n = 4
    counts = np.zeros(4)
    for _ in range(20_000):
        sampled = rng.choice(4, size=n, p=np.exp(LOG_PROBS[0]))
        taken, logp = exploration.apply(sampled, LOG_PROBS, np.zeros(n, bool))
        counts += np.bincount(taken, minlength=4)
        expected = (1 - eps) * np.exp(LOG_PROBS[0]) + eps / 4
        np.testing.assert_allclose(np.exp(logp), expected[taken])
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)
