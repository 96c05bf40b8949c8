"""Episodes whose observations are known before the agent acts, for the streamed greedy
evaluation (docs/design.md §13): on the T-Maze the actions before the junction change nothing,
so a whole corridor can be read ahead in time chunks and only the last action is scored.

    episodes = open_loop_episodes(spec, seeds)       # spec.junction_cue must be True
    obs = episodes.observations_at(steps)            # [K, N, obs_dim] for steps [K, N]
    success, returns = episodes.score(last_actions)  # the reward of each episode's last action
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs.spec import EnvSpec
from envs.vector_tmaze import NoisyTMazeVectorEnv


@dataclasses.dataclass(frozen=True)
class OpenLoopEpisodes:
    """N episodes fixed by their seeds: lengths, observations at any step, the answer key."""

    lengths: np.ndarray
    """[N] decision steps T of each episode; the last action (step T - 1) is the only one scored."""
    answers: np.ndarray
    """[N] the action that succeeds at the last step (the cue side)."""
    _maze: NoisyTMazeVectorEnv
    _rewards: tuple[float, float]

    def observations_at(self, steps: np.ndarray) -> np.ndarray:
        return self._maze.observations_at(steps)

    def score(self, last_actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(success [N] bool, return [N]) of the episodes ending with `last_actions`."""
        success = np.asarray(last_actions) == self.answers
        return success, np.where(success, *self._rewards).astype(np.float64)


def open_loop_episodes(spec: EnvSpec, episode_seeds: np.ndarray) -> OpenLoopEpisodes:
    """One episode per seed; an error for an env whose observations depend on the actions."""
    if not spec.junction_cue:
        raise ValueError(f"{spec.label}: its observations depend on the actions, so its "
                         "episodes cannot be read ahead (evaluate it with RLlib's module)")
    tmaze = spec.config.tmaze
    maze = NoisyTMazeVectorEnv(len(episode_seeds), **tmaze.env_kwargs())
    maze.reset(options={"episode_seeds": np.asarray(episode_seeds, np.uint64)})
    return OpenLoopEpisodes(maze.episode_lengths.copy(), maze.cue_sides.copy(), maze,
                            (float(tmaze.success_reward), float(tmaze.failure_reward)))
