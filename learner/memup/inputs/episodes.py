"""Where the MemUP learner's episodes come from: the store, or episodes generated here.

The learner reads any object with `sample(n) -> list[episode]` (`EpisodeSource`); in a run this
is `trajectory_store.TrajectoryStore`. `generate_episodes` replays fixed episode seeds through
the env's vector env with a uniform random policy: evaluation uses it for its held-out set
(never the store), tests and benchmarks wrap its output in `InMemorySource`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from actors.episode_recorder import EpisodeRecorder
from envs import (EnvConfig, NoisyTMazeVectorEnv, TMazeConfig, as_env_config, describe_env,
                  draw_episode_seeds, make_vector_env)

_ENVS_PER_CHUNK = 512


class EpisodeLike(Protocol):
    """One complete episode: o_t float32 [T, obs_dim], a_t int [T], r_t float32 [T]."""

    @property
    def obs(self) -> np.ndarray: ...

    @property
    def action(self) -> np.ndarray: ...

    @property
    def reward(self) -> np.ndarray: ...


class EpisodeSource(Protocol):
    """Uniform samples of complete episodes (`TrajectoryStore.sample` matches)."""

    def sample(self, n: int) -> Sequence[EpisodeLike]: ...


@dataclasses.dataclass(frozen=True)
class GeneratedEpisode:
    """An episode generated here, with the metadata the store would record."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    meta: Mapping[str, Any]


def _generate_chunk(
    tmaze: TMazeConfig, episode_seeds: np.ndarray, rng: np.random.Generator
) -> list[GeneratedEpisode]:
    count = len(episode_seeds)
    env = NoisyTMazeVectorEnv(count, **tmaze.env_kwargs())
    obs, _ = env.reset(options={"episode_seeds": episode_seeds})
    lengths, cues = env.episode_lengths.copy(), env.cue_sides.copy()  # before any autoreset
    horizon = int(lengths.max())
    all_obs = np.zeros((count, horizon, obs.shape[1]), np.float32)
    actions = rng.integers(0, 2, size=(count, horizon)).astype(np.int32)
    rewards = np.zeros((count, horizon), np.float32)
    for t in range(horizon):
        all_obs[:, t] = obs
        obs, reward, _, _, _ = env.step(actions[:, t])
        rewards[:, t] = reward
    episodes = []
    for i in range(count):
        length = int(lengths[i])
        success = bool(rewards[i, length - 1] == tmaze.success_reward)
        meta = {"seed": int(episode_seeds[i]), "length": length, "success": success,
                "cue_side": int(cues[i]), "env_kwargs": tmaze.env_kwargs(), "policy_id": "random"}
        episodes.append(GeneratedEpisode(all_obs[i, :length].copy(), actions[i, :length].copy(),
                                         rewards[i, :length].copy(), meta))
    return episodes


def _generate_any(env: EnvConfig, episode_seeds: np.ndarray, rng: np.random.Generator
                  ) -> list[GeneratedEpisode]:
    """Any env: one sub-env per episode seed, each run to the end of its first episode."""
    spec = describe_env(env)
    vector = make_vector_env(env, len(episode_seeds))
    recorder = EpisodeRecorder(len(episode_seeds), spec.obs_dim, spec.max_episode_steps)
    obs, _ = vector.reset(options={"episode_seeds": episode_seeds})
    recorder.begin(obs, vector.episode_seeds)
    by_seed: dict[int, GeneratedEpisode] = {}
    wanted = {int(s) for s in episode_seeds}
    while len(by_seed) < len(wanted):
        actions = rng.integers(0, spec.num_actions, len(episode_seeds))
        obs, rewards, terminated, truncated, _ = vector.step(actions)
        for done in recorder.record(actions, obs, rewards, terminated, None,
                                    vector.episode_seeds, truncated):
            if done.episode_seed in wanted and done.episode_seed not in by_seed:
                meta = {"seed": done.episode_seed, "length": len(done.action),
                        "truncated": done.truncated, "env_id": env.id,
                        "env_kwargs": dict(env.kwargs), "policy_id": "random"}
                by_seed[done.episode_seed] = GeneratedEpisode(done.obs, done.action,
                                                              done.reward, meta)
    vector.close()
    return [by_seed[int(s)] for s in episode_seeds]


def generate_episodes(env: EnvConfig | TMazeConfig, num_episodes: int, seed: int
                      ) -> list[GeneratedEpisode]:
    """`num_episodes` random-policy episodes, the same for the same (env, seed)."""
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    config = as_env_config(env)
    rng = np.random.default_rng(seed)
    seeds = draw_episode_seeds(rng, num_episodes)
    episodes: list[GeneratedEpisode] = []
    for start in range(0, num_episodes, _ENVS_PER_CHUNK):
        chunk = seeds[start:start + _ENVS_PER_CHUNK]
        episodes += (_generate_chunk(config.tmaze, chunk, rng) if config.is_tmaze
                     else _generate_any(config, chunk, rng))
    return episodes


class InMemorySource:
    """Uniform sampling with replacement from a fixed list of episodes."""

    def __init__(self, episodes: Sequence[EpisodeLike], seed: int = 0) -> None:
        if not episodes:
            raise ValueError("InMemorySource needs at least one episode")
        self.episodes = list(episodes)
        self._rng = np.random.default_rng(seed)

    def sample(self, n: int, timeout_s: float | None = None) -> list[EpisodeLike]:
        return [self.episodes[i] for i in self._rng.integers(0, len(self.episodes), n)]


def generated_source(env: EnvConfig | TMazeConfig, num_episodes: int, seed: int
                     ) -> InMemorySource:
    """A source over `generate_episodes(env, num_episodes, seed)`; as a
    `functools.partial` it is a picklable source factory for `MemUPLearner` (smoke runs)."""
    return InMemorySource(generate_episodes(env, num_episodes, seed), seed=seed)
