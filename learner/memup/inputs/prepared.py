"""Per-episode arrays computed once when an episode arrives, and their padded batches."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from learner.memup.inputs.columns import episode_columns
from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import EpisodeLike
from memup_module import TargetCodec


@dataclasses.dataclass(frozen=True)
class PreparedEpisode:
    """What training reads of one episode: memory inputs, contexts and targets."""

    x: np.ndarray
    """x_t = [o_t, one_hot(a_{t-1}), r_{t-1}], float32 [T, obs_dim + num_actions + 1]."""
    context: np.ndarray
    """[o_t, one_hot(a_t)], float32 [T, obs_dim + num_actions]."""
    values: np.ndarray
    """f_t, float32 [T]."""
    classes: np.ndarray
    """codec class of f_t, int64 [T]."""

    @property
    def length(self) -> int:
        return len(self.classes)


def prepare_episode(
    episode: EpisodeLike, config: MemUPConfig, codec: TargetCodec
) -> PreparedEpisode:
    """Validates one episode's columns and derives its whole training arrays (evaluation and
    tests; training keeps `EpisodeColumns` and builds a window at a time)."""
    columns = episode_columns(episode, config, codec)
    return PreparedEpisode(columns.x(0, columns.length), columns.context(0, columns.length),
                           columns.values(config), columns.classes.astype(np.int64))


@dataclasses.dataclass(frozen=True)
class EpisodeBatch:
    """N prepared episodes zero-padded to the longest, as tensors on one device."""

    x: torch.Tensor  # [N, T, x_dim]
    context: torch.Tensor  # [N, T, F]
    values: torch.Tensor  # [N, T]
    classes: torch.Tensor  # [N, T] long
    lengths: torch.Tensor  # [N] long

    @property
    def num_steps(self) -> int:
        return self.classes.shape[1]

    def time_slice(self, start: int, stop: int) -> EpisodeBatch:
        part = slice(start, stop)
        return EpisodeBatch(self.x[:, part], self.context[:, part], self.values[:, part],
                            self.classes[:, part], self.lengths)


def pad_episodes(episodes: Sequence[PreparedEpisode], device: torch.device) -> EpisodeBatch:
    """Stacks episodes into zero-padded [N, max T, ...] tensors on `device`."""
    n, horizon = len(episodes), max(e.length for e in episodes)
    first = episodes[0]
    x = np.zeros((n, horizon, first.x.shape[1]), np.float32)
    context = np.zeros((n, horizon, first.context.shape[1]), np.float32)
    values = np.zeros((n, horizon), np.float32)
    classes = np.zeros((n, horizon), np.int64)
    for i, e in enumerate(episodes):
        x[i, :e.length], context[i, :e.length] = e.x, e.context
        values[i, :e.length], classes[i, :e.length] = e.values, e.classes
    lengths = np.array([e.length for e in episodes], np.int64)
    return EpisodeBatch(*(torch.from_numpy(a).to(device) for a in (x, context, values, classes,
                                                                   lengths)))
