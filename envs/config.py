"""Validated settings of the Noisy T-Maze, shared by the single and the vector env."""

from __future__ import annotations

import dataclasses

from envs.validation import require_bool, require_int, require_real


@dataclasses.dataclass(frozen=True)
class TMazeConfig:
    """Noisy T-Maze settings; field names are the env's keyword arguments."""

    corridor_length: int
    """L: the shortest episode has L decision steps."""
    length_jitter: int = 10
    """J: each episode adds U ~ Uniform{0..J} steps, so T = L + U."""
    noise: bool = True
    """Whether the third observation channel carries ±1 noise at every step."""
    success_reward: float = 4.0
    """Reward for naming the cue side at the junction."""
    failure_reward: float = -3.0
    """Reward for the other side."""

    def __post_init__(self) -> None:
        require_int("corridor_length", self.corridor_length, 1)
        require_int("length_jitter", self.length_jitter, 0)
        require_bool("noise", self.noise)
        require_real("success_reward", self.success_reward)
        require_real("failure_reward", self.failure_reward)

    @property
    def max_episode_steps(self) -> int:
        return self.corridor_length + self.length_jitter

    def env_kwargs(self) -> dict:
        """The keyword arguments that rebuild this maze with `gymnasium.make`."""
        return dataclasses.asdict(self)
