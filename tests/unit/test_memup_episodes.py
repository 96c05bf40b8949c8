"""Generated held-out episodes, the in-memory source, episode preparation and prefetching."""

import threading

import numpy as np
import pytest

from envs import NoisyTMaze, tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.episodes import GeneratedEpisode, InMemorySource, generate_episodes
from learner.memup.inputs.prefetch import Prefetcher
from learner.memup.inputs.prepared import pad_episodes, prepare_episode
from memup_module import make_codec

TMAZE = tmaze_spec(7, length_jitter=5)


def test_generated_episodes_are_reproducible_and_follow_the_rules():
    episodes = generate_episodes(TMAZE, 600, seed=3)  # more than one vector-env chunk
    again = generate_episodes(TMAZE, 600, seed=3)
    assert all(np.array_equal(a.obs, b.obs) and np.array_equal(a.action, b.action)
               for a, b in zip(episodes, again))
    for e in episodes[:50]:
        length = e.meta["length"]
        assert e.obs.shape == (length, 3) and 7 <= length <= 12
        assert e.obs.dtype == np.float32 and e.action.dtype == np.int32
        assert e.obs[0, 0] == (1.0 if e.meta["cue_side"] else -1.0) and not e.obs[1:, 0].any()
        assert e.obs[-1, 1] == 1.0 and not e.reward[:-1].any()
        success = e.action[-1] == e.meta["cue_side"]
        assert e.reward[-1] == (4.0 if success else -3.0) and e.meta["success"] == success
    assert generate_episodes(TMAZE, 5, seed=4)[0].meta["seed"] != episodes[0].meta["seed"]


def test_generated_episodes_replay_in_the_single_env():
    episode = generate_episodes(TMAZE, 3, seed=5)[2]
    env = NoisyTMaze(**TMAZE.config.kwargs)
    obs, _ = env.reset(options={"episode_seed": episode.meta["seed"]})
    for t, action in enumerate(episode.action):
        np.testing.assert_array_equal(obs, episode.obs[t])
        obs, reward, terminated, _, _ = env.step(int(action))
        assert reward == episode.reward[t]
    assert terminated


def test_in_memory_source_samples_from_its_list():
    episodes = generate_episodes(TMAZE, 4, seed=0)
    sample = InMemorySource(episodes, seed=0).sample(20, timeout_s=1.0)
    assert len(sample) == 20 and all(any(s is e for e in episodes) for s in sample)
    with pytest.raises(ValueError):
        InMemorySource([])


def test_prepare_and_pad():
    config = MemUPConfig()
    codec = make_codec(config, (-3.0, 0.0, 4.0))
    raw = generate_episodes(TMAZE, 3, seed=1)
    episodes = [prepare_episode(e, config, codec) for e in raw]
    first = episodes[0]
    assert first.x.shape == (first.length, 6) and first.context.shape == (first.length, 5)
    assert first.context[np.arange(first.length), 3 + raw[0].action].all()
    assert first.context[:, 3:].sum() == first.length
    assert first.classes[:-1].tolist() == [1] * (first.length - 1)
    batch = pad_episodes(episodes, device="cpu")
    assert batch.x.shape == (3, max(e.length for e in episodes), 6)
    assert batch.lengths.tolist() == [e.length for e in episodes]


@pytest.mark.parametrize(
    ("obs", "action", "reward", "message"),
    [
        (np.zeros((4, 2)), np.zeros(4), np.zeros(4), r"obs must be \[T >= 1, 3\]"),
        (np.zeros((4, 3)), np.zeros(3), np.zeros(4), "columns disagree"),
        (np.zeros((4, 3)), np.full(4, 2), np.zeros(4), "actions must lie in"),
        (np.zeros((4, 3)), np.zeros(4), np.array([0, np.nan, 0, 0]), "non-finite"),
        (np.zeros((4, 3)), np.zeros(4), np.array([0, 0, 0, 5.0]), "none of the codec classes"),
    ],
)
def test_bad_episodes_are_refused(obs, action, reward, message):
    config = MemUPConfig()
    episode = GeneratedEpisode(obs.astype(np.float32), action.astype(np.int32),
                               reward.astype(np.float32), {})
    with pytest.raises(ValueError, match=message):
        prepare_episode(episode, config, make_codec(config, (-3.0, 0.0, 4.0)))


class _CountingSource:
    def __init__(self, fail_after: int | None = None) -> None:
        self.next, self.fail_after = 0, fail_after

    def sample(self, n: int) -> list[int]:
        if self.fail_after is not None and self.next >= self.fail_after:
            raise TimeoutError("store has too few episodes")
        items = list(range(self.next, self.next + n))
        self.next += n
        return items


@pytest.mark.parametrize("capacity", [0, 8])
def test_prefetcher_hands_out_episodes_in_sampled_order(capacity):
    prefetcher = Prefetcher(_CountingSource(), lambda e: e * 10, capacity=capacity, batch=3)
    assert prefetcher.get(5) + prefetcher.get(4) == [i * 10 for i in range(9)]
    prefetcher.close()


def test_prefetch_errors_reach_the_learner():
    prefetcher = Prefetcher(_CountingSource(fail_after=6), lambda e: e, capacity=4, batch=3)
    with pytest.raises(RuntimeError, match="prefetch failed: store has too few") as error:
        prefetcher.get(20)
    assert isinstance(error.value.__cause__, TimeoutError)
    assert not any(t.name == "memup-prefetch" and t.is_alive() for t in threading.enumerate())
