"""IMPALA's EnvRunners put the episodes they play into the store: whole, replayable from their
seed and actions, with the behaviour's versions; a runner stopped mid-episode stores no part of
the episode it was playing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from envs import EnvConfig, EnvSpec, NoisyTMaze, describe_env, make_env, tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.episode_sink import POLICY_ID, SinkSettings
from learner.impala.algo_config import build_impala_config
from learner.impala.training import module_settings
from memup_module import Memory, MemoryConfig, save_memory
from trajectory_store import StoreConfig, StoreHandle

IMPALA = ImpalaConfig(num_envs_per_env_runner=4, rollout_fragment_length=7, max_seq_len=7,
                      train_batch_size_per_learner=28, minibatch_size=28)


def impala_config(spec: EnvSpec, tmp_path: Path, sink: SinkSettings) -> Any:
    """The run's IMPALA config on a small random memory, its EnvRunners recording into `sink`."""
    torch.manual_seed(5)
    memory = Memory(MemoryConfig(obs_dim=spec.obs_dim, num_actions=spec.num_actions,
                                 hidden_size=16))
    model_config = module_settings(IMPALA, memory_path=save_memory(tmp_path / "m.pt", memory),
                                   baseline=False)
    return build_impala_config(spec, IMPALA, model_config, sink=sink)


def runner_for(spec: EnvSpec, tmp_path: Path, sink: SinkSettings) -> SingleAgentEnvRunner:
    """The EnvRunner the run builds (the batched one: learner.impala.inputs.batched_runner)."""
    config = impala_config(spec, tmp_path, sink)
    return config.env_runner_cls(config=config)


def stored_episodes(handle: StoreHandle) -> list:
    store = handle.attached().connect()
    try:
        return list(store.iterate())
    finally:
        store.close()


def replay(spec: EnvSpec, episode) -> None:
    """The env made from the episode's own id and kwargs, reset to its seed, fed its actions."""
    env = make_env(describe_env(EnvConfig(episode.meta["env_id"], episode.meta["env_kwargs"])))
    seed = int(episode.meta["seed"])
    if isinstance(env.unwrapped, NoisyTMaze):
        obs, _ = env.reset(options={"episode_seed": seed})
    else:
        obs, _ = env.reset(seed=seed)
    for t, action in enumerate(episode.action):
        np.testing.assert_array_equal(episode.obs[t], obs)
        obs, reward, terminated, truncated, info = env.step(int(action))
        assert np.float32(reward) == episode.reward[t]
    assert (terminated, truncated) == (episode.meta["terminated"], episode.meta["truncated"])
    if spec.reports_success:
        assert info["success"] == episode.meta["success"]


@pytest.mark.parametrize("spec", [
    tmaze_spec(6, length_jitter=3),
    describe_env(EnvConfig("CartPole-v1", {"max_episode_steps": 9})),
], ids=["tmaze", "cartpole"])
def test_played_episodes_are_stored_whole_and_replay(ray_local, redis_server, store_name,
                                                     tmp_path: Path, spec: EnvSpec) -> None:
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=100_000))
    runner = runner_for(spec, tmp_path, SinkSettings(handle, flush_episodes=3))
    runner.module.memory_version.fill_(2)  # as after two memory swaps
    try:
        played = [e for _ in range(6) for e in runner.sample(explore=True) if e.is_done]
    finally:
        runner.stop()
    stored = stored_episodes(handle)
    # Every episode that ended in a sample() is stored by the end of it, none twice.
    assert len(stored) == len(played) > 3
    assert len({e.meta["seed"] for e in stored}) == len(stored)
    # Replay checks each episode whole: from the reset's observation to the step that ended it.
    assert max(e.length for e in stored) > IMPALA.rollout_fragment_length  # some were cut
    for episode in stored:
        assert episode.obs.shape[1] == spec.obs_dim
        assert episode.meta["policy_id"] == POLICY_ID
        assert episode.meta["collector_id"] == "env-runner-0"
        assert episode.meta["memory_version"] == 2
        assert isinstance(episode.meta["policy_version"], int)
        replay(spec, episode)


def test_an_env_runner_killed_mid_episode_leaves_only_ended_episodes(
        ray_local, redis_server, store_name, tmp_path: Path) -> None:
    # Episodes of 12 steps, fragments of 7: after three samples each sub-env has ended its
    # first episode and is 9 steps into its second when the actor is killed.
    spec = tmaze_spec(12, length_jitter=0)
    handle = StoreHandle(redis_server.url, store_name, StoreConfig(capacity_steps=100_000))
    handle.connect().close()
    config = impala_config(spec, tmp_path, SinkSettings(handle, flush_episodes=100))
    actor = ray_local.remote(config.env_runner_cls).remote(config=config)
    chunks = [c for _ in range(3) for c in ray_local.get(actor.sample.remote(explore=True))]
    ray_local.kill(actor)
    assert sum(c.is_done for c in chunks) == IMPALA.num_envs_per_env_runner
    assert any(not c.is_done for c in chunks)
    stored = stored_episodes(handle)
    assert len(stored) == IMPALA.num_envs_per_env_runner
    for episode in stored:
        assert episode.length == 12
        replay(spec, episode)


def test_a_store_that_never_takes_the_episodes_fails_the_runner_with_the_fix(
        ray_local, redis_server, store_name, tmp_path: Path) -> None:
    # One sample per insert, nothing sampling: after the first few episodes every insert waits.
    config = StoreConfig(capacity_steps=100_000, samples_per_insert=1.0, rate_tolerance=1.0)
    handle = StoreHandle(redis_server.url, store_name, config)
    runner = runner_for(tmaze_spec(4, length_jitter=0), tmp_path,
                        SinkSettings(handle, flush_episodes=1, insert_timeout_s=0.05,
                                     patience_s=0.2))
    try:
        with pytest.raises(RuntimeError, match="samples_per_insert"):
            for _ in range(20):
                runner.sample(explore=True)
    finally:
        runner.stop()
    assert 0 < len(stored_episodes(handle)) < 20
