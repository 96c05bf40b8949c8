"""A collector fed any gymnasium env (POPGym here) stores whole, replayable episodes in Redis."""

import numpy as np
import pytest

from actors import CollectorConfig, EpisodeCollector
from envs import EnvConfig, EnvSpec, describe_env, make_env
from trajectory_store import StoreConfig, StoreHandle

pytest.importorskip("popgym")
COUNT_RECALL = EnvConfig("popgym-CountRecallEasy-v0", {}, ("popgym",))


def collect(env: EnvSpec, redis_server, store_name: str, episodes: int) -> list:
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=1_000_000))
    collector = EpisodeCollector(0, env, CollectorConfig(num_envs=4, flush_episodes=4), handle,
                                 base_seed=3)
    summary = collector.run(max_episodes=episodes)
    store = handle.attached().connect()
    try:
        stored = list(store.iterate())
    finally:
        store.close()
    assert summary["collector/episodes"] == len(stored) == episodes
    return stored


def replay(env: EnvSpec, episode) -> None:
    """gymnasium.make(id, **kwargs), reset(seed=the episode's seed), the stored actions."""
    single = make_env(describe_env(EnvConfig(episode.meta["env_id"], episode.meta["env_kwargs"],
                                             env.config.imports, env.config.wrappers)))
    obs, _ = single.reset(seed=int(episode.meta["seed"]))
    for t, action in enumerate(episode.action):
        np.testing.assert_array_equal(episode.obs[t], obs)
        obs, reward, terminated, truncated, _ = single.step(int(action))
        assert np.float32(reward) == episode.reward[t]
    assert terminated == episode.meta["terminated"] and truncated == episode.meta["truncated"]


def test_popgym_episodes_are_stored_whole_and_replay_from_their_seed(redis_server, store_name):
    count_recall = describe_env(COUNT_RECALL)
    stored = collect(count_recall, redis_server, store_name, 10)
    assert {e.obs.shape[1] for e in stored} == {4}  # MultiDiscrete([2, 2]) one-hot
    assert len({e.meta["seed"] for e in stored}) == 10
    for episode in stored:
        assert episode.meta["env_id"] == "popgym-CountRecallEasy-v0"
        assert episode.meta["terminated"] and not episode.meta["truncated"]
        assert episode.meta["success"] is None  # popgym does not say
        assert episode.action.max() < 27
        replay(count_recall, episode)


def test_truncated_episodes_are_stored_and_marked(redis_server, store_name):
    cartpole = describe_env(EnvConfig("CartPole-v1", {"max_episode_steps": 6}))
    stored = collect(cartpole, redis_server, f"{store_name}-cut", 12)
    assert any(e.meta["truncated"] for e in stored)
    for episode in stored:
        assert episode.meta["truncated"] != episode.meta["terminated"]
        assert len(episode.action) <= 6
        replay(cartpole, episode)
