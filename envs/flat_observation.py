"""Any observation space gymnasium can flatten, as one float32 vector (docs/design.md §11).

Box, Discrete, MultiDiscrete, MultiBinary and Dict/Tuple of those go through
`gymnasium.spaces.flatten` (one-hot for the discrete parts); images are Boxes and flatten to
their pixels. Spaces gymnasium cannot flatten to a fixed size (Text, Sequence, Graph) are refused
with the reason.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

_FLAT_PARTS = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
               gym.spaces.MultiBinary)


class UnflattenableSpaceError(ValueError):
    """An observation space that cannot become a fixed-size float vector."""


def check_flattenable(space: gym.Space, where: str = "observation space") -> None:
    """Raises `UnflattenableSpaceError` naming the first part that cannot be flattened."""
    if isinstance(space, gym.spaces.Dict):
        for key, part in space.spaces.items():
            check_flattenable(part, f"{where}[{key!r}]")
    elif isinstance(space, gym.spaces.Tuple):
        for index, part in enumerate(space.spaces):
            check_flattenable(part, f"{where}[{index}]")
    elif not isinstance(space, _FLAT_PARTS):
        raise UnflattenableSpaceError(
            f"{where} is {space}, which cannot be flattened to a fixed-size vector: supported are "
            "Box, Discrete, MultiDiscrete, MultiBinary and Dict/Tuple of them; wrap the env to "
            "drop or encode that part")
    elif isinstance(space, gym.spaces.Box) and not np.issubdtype(space.dtype, np.number):
        raise UnflattenableSpaceError(f"{where} is a Box of {space.dtype}, not numbers")


def flat_space(space: gym.Space) -> gym.spaces.Box:
    """The float32 Box that `flatten_observation` maps `space` into."""
    check_flattenable(space)
    box = gym.spaces.flatten_space(space)
    return gym.spaces.Box(box.low.astype(np.float32), box.high.astype(np.float32),
                          dtype=np.float32)


def flat_size(space: gym.Space) -> int:
    return int(flat_space(space).shape[0])


def flatten_observation(space: gym.Space, obs: Any) -> np.ndarray:
    return np.asarray(gym.spaces.flatten(space, obs), np.float32)


class FlatFloatObservation(gym.ObservationWrapper):
    """Observations as `flatten_observation` vectors; the T-Maze's are already flat."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._raw_space = env.observation_space
        self.observation_space = flat_space(env.observation_space)

    def observation(self, observation: Any) -> np.ndarray:
        return flatten_observation(self._raw_space, observation)
