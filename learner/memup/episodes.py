"""Where the MemUP learner's episodes come from: the store, or generated T-Mazes.

The learner reads any object with `sample(n) -> list[episode]` (`EpisodeSource`); in a run this
is `trajectory_store.TrajectoryStore`. `generate_episodes` replays fixed episode seeds through
the vector env with a uniform random policy: evaluation uses it for its held-out set (never the
store), tests and benchmarks wrap its output in `InMemorySource`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from envs import NoisyTMazeVectorEnv, TMazeConfig, draw_episode_seeds

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


def tmaze_reward_values(tmaze: TMazeConfig) -> tuple[float, ...]:
    """Every reward a T-Maze step can give: failure, 0 and success."""
    return (float(tmaze.failure_reward), 0.0, float(tmaze.success_reward))


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


def generate_episodes(tmaze: TMazeConfig, num_episodes: int, seed: int) -> list[GeneratedEpisode]:
    """`num_episodes` random-policy episodes, the same for the same (tmaze, seed)."""
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    rng = np.random.default_rng(seed)
    seeds = draw_episode_seeds(rng, num_episodes)
    episodes: list[GeneratedEpisode] = []
    for start in range(0, num_episodes, _ENVS_PER_CHUNK):
        episodes += _generate_chunk(tmaze, seeds[start:start + _ENVS_PER_CHUNK], rng)
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


def generated_source(tmaze: TMazeConfig, num_episodes: int, seed: int) -> InMemorySource:
    """A source over `generate_episodes(tmaze, num_episodes, seed)`; as a
    `functools.partial` it is a picklable source factory for `MemUPLearner` (smoke runs)."""
    return InMemorySource(generate_episodes(tmaze, num_episodes, seed), seed=seed)
