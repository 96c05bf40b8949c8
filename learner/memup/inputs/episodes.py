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
from envs import EnvSpec, draw_episode_seeds, make_vector_env, random_rollouts
from memup_module import MemUPModelConfig, TargetCodec, make_codec, rewards_seen

_ENVS_PER_CHUNK = 512
CODEC_SAMPLE_EPISODES = 256
"""Episodes whose rewards make the codec when the env declares no reward set."""


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


def _generate_any(spec: EnvSpec, episode_seeds: np.ndarray, rng: np.random.Generator
                  ) -> list[GeneratedEpisode]:
    """Any env: one sub-env per episode seed, each run to the end of its first episode."""
    env = spec.config
    vector = make_vector_env(spec, len(episode_seeds))
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


def generate_episodes(env: EnvSpec, num_episodes: int, seed: int) -> list[GeneratedEpisode]:
    """`num_episodes` random-policy episodes, the same for the same (env, seed)."""
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    rng = np.random.default_rng(seed)
    seeds = draw_episode_seeds(rng, num_episodes)
    episodes: list[GeneratedEpisode] = []
    for start in range(0, num_episodes, _ENVS_PER_CHUNK):
        chunk = seeds[start:start + _ENVS_PER_CHUNK]
        fast = random_rollouts(env, chunk, rng)
        episodes += ([GeneratedEpisode(*rollout) for rollout in fast] if fast is not None
                     else _generate_any(env, chunk, rng))
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


def generated_source(env: EnvSpec, num_episodes: int, seed: int) -> InMemorySource:
    """A source over `generate_episodes(env, num_episodes, seed)`; as a
    `functools.partial` it is a picklable source factory for `MemUPLearner` (smoke runs)."""
    return InMemorySource(generate_episodes(env, num_episodes, seed), seed=seed)


def codec_for(config: MemUPModelConfig, declared: tuple[float, ...] | None,
              source: EpisodeSource) -> TargetCodec:
    """The env's declared reward set, or the rewards of a first batch of the source's episodes."""
    if declared is not None:
        return make_codec(config, declared)
    return make_codec(config, rewards_seen(source.sample(CODEC_SAMPLE_EPISODES)), declared=False)
