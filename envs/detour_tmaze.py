"""The Detour T-Maze: the cue shows only at the end of a detour behind the start, so the agent
must go and look before it walks the corridor to the junction (docs/design.md §3.1)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np

from envs import episode_rng
from envs.noisy_tmaze import CUE, JUNCTION, NOISE, OBS_DIM, observation_space
from envs.validation import require_bool, require_int, require_real

BACK, FORWARD, CHOOSE_LEFT, CHOOSE_RIGHT = 0, 1, 2, 3
NUM_ACTIONS = 4


def default_detour_length(corridor_length: int) -> int:
    """D = ceil(3 sqrt(L)): with the default slack the horizon H is about 1.1 (L + 2D), so D is
    about 3.7 sqrt(H / 2) at L = 1000 and a uniformly random policy, a lazy random walk of
    variance 1/2 per step, reaches the cue in about 2 episodes in 10 000."""
    return math.ceil(3.0 * math.sqrt(corridor_length))


def default_slack(corridor_length: int, detour_length: int) -> int:
    """10 % of L + 2D, at least 10 steps."""
    return max(10, math.ceil((corridor_length + 2 * detour_length) / 10))


@dataclasses.dataclass(frozen=True)
class DetourConfig:
    """Detour T-Maze settings; field names are the env's keyword arguments (None: default)."""

    corridor_length: int
    """L: the junction is L steps ahead of the start."""
    detour_length: int | None = None
    """D: the cue is D steps behind the start; None gives `default_detour_length(L)`."""
    noise: bool = True
    """Whether the third observation channel carries ±1 noise at every step."""
    success_reward: float = 4.0
    """Reward for naming the cue side at the junction."""
    failure_reward: float = -3.0
    """Reward for the other side."""
    slack: int | None = None
    """Spare steps beyond 2D + L; None gives `default_slack(L, D)`."""
    lag_penalty: float = 0.0
    """Cost per step the agent falls behind the shortest success's schedule (after k steps it
    should be at x >= k - D), in the spirit of Ni et al.'s Active T-Maze: walking the corridor
    then pays as it goes, so only the cue has to be remembered for long. 0: such steps pay 0."""

    def __post_init__(self) -> None:
        require_int("corridor_length", self.corridor_length, 1)
        if self.detour_length is not None:
            require_int("detour_length", self.detour_length, 0)
        require_bool("noise", self.noise)
        require_real("success_reward", self.success_reward)
        require_real("failure_reward", self.failure_reward)
        if self.slack is not None:
            # The shortest successful episode takes 2D + L + 1 steps.
            require_int("slack", self.slack, 1)
        require_real("lag_penalty", self.lag_penalty, 0.0)

    @property
    def detour(self) -> int:
        """D, resolved."""
        if self.detour_length is None:
            return default_detour_length(self.corridor_length)
        return self.detour_length

    @property
    def junction(self) -> int:
        """Position D + L of the junction; the start is D, the cue 0."""
        return self.detour + self.corridor_length

    @property
    def max_steps(self) -> int:
        """The time limit: 2D + L + slack decision steps."""
        slack = self.slack
        if slack is None:
            slack = default_slack(self.corridor_length, self.detour)
        return 2 * self.detour + self.corridor_length + slack

    def lag(self, positions: np.ndarray | int, steps: np.ndarray | int) -> np.ndarray:
        """How many steps behind the shortest success's schedule x >= k - D the agent is."""
        return np.maximum(np.asarray(steps) - self.detour - np.asarray(positions), 0)

    def step_reward(self, lag_before: np.ndarray | int, lag_after: np.ndarray | int) -> np.ndarray:
        """The reward of a step that neither chooses nor times out: `-lag_penalty` per step of
        schedule it lost (0 with no penalty)."""
        lost = np.asarray(lag_after) - np.asarray(lag_before)
        return (0.0 - np.float32(self.lag_penalty) * lost).astype(np.float32)  # no -0.0

    def lag_rewards(self) -> tuple[float, ...]:
        """The rewards a step may pay for lost schedule: one step lost, or two (a step back)."""
        if self.lag_penalty == 0:
            return ()
        return tuple(float(self.step_reward(0, lost)) for lost in (1, 2))

    def declared(self) -> dict[str, Any]:
        """What the env tells `envs.describe_env` of itself (metadata entries)."""
        return {
            "memup.reports_success": True,
            "memup.reward_values": (float(self.failure_reward), 0.0, float(self.success_reward))
            + self.lag_rewards(),
            "memup.corridor_length": self.corridor_length,
        }


class DetourTMaze(gym.Env[np.ndarray, np.int64]):
    """Detour T-Maze (docs/design.md §3.1).

    Positions 0 .. D+L; the agent starts at D. Observation `[cue, junction, noise]`: the cue (-1
    left, +1 right) shows only while at 0, the junction flag only at D + L, noise is ±1 at every
    step. Actions: 0 back, 1 forward (clipped to the corridor), 2 choose left, 3 choose right.
    Choosing anywhere but the junction changes nothing; at the junction it ends the episode with
    `success_reward` if it names the cue side, else `failure_reward`, and an all-zero
    observation. After `max_steps` steps without a choice the episode is truncated with
    `failure_reward` (a timeout is a wrong answer) and success False. Every other step pays 0, or
    `-lag_penalty` per step of the shortest success's schedule it loses.

    Seeding as `NoisyTMaze`: `reset(seed=s)` seeds the env's generator; each episode draws one
    episode seed that fixes its cue and noise, and `reset(options={"episode_seed": e})` replays
    it exactly (the vector env records these seeds).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        corridor_length: int,
        detour_length: int | None = None,
        noise: bool = True,
        success_reward: float = 4.0,
        failure_reward: float = -3.0,
        slack: int | None = None,
        lag_penalty: float = 0.0,
    ) -> None:
        self.config = DetourConfig(
            corridor_length, detour_length, noise, success_reward, failure_reward, slack,
            lag_penalty,
        )
        self.metadata = {**type(self).metadata, **self.config.declared()}
        self.observation_space = observation_space()
        self.action_space = gym.spaces.Discrete(NUM_ACTIONS)
        self._t = 0
        self._x = 0
        self._cue_side = 0
        self._noise_key = np.zeros(1, np.uint64)
        self._done = True

    @property
    def max_episode_steps(self) -> int:
        """The time limit (read by `envs.describe_env` as the horizon)."""
        return self.config.max_steps

    @property
    def position(self) -> int:
        """x: 0 at the cue, D at the start, D + L at the junction."""
        return self._x

    @property
    def cue_side(self) -> int:
        """0 if the cue of the current episode points left, 1 if right."""
        return self._cue_side

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        episode_seed = episode_rng.starting_seed(self.np_random, options)
        self._cue_side = int(episode_rng.cue_sides(episode_seed)[0])
        self._noise_key = episode_rng.noise_keys(episode_seed)
        self._t = 0
        self._x = self.config.detour
        self._done = False
        return self._observation(), {"episode_seed": int(episode_seed[0])}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (back), 1 (forward), 2 (left) or 3 (right), "
                             f"got {action!r}")
        action = int(action)
        lag_before = self.config.lag(self._x, self._t)
        if action >= CHOOSE_LEFT and self._x == self.config.junction:
            success = action - CHOOSE_LEFT == self._cue_side
            reward = self.config.success_reward if success else self.config.failure_reward
            self._done = True
            return np.zeros(OBS_DIM, np.float32), float(reward), True, False, {"success": success}
        if action == BACK:
            self._x = max(self._x - 1, 0)
        elif action == FORWARD:
            self._x = min(self._x + 1, self.config.junction)
        self._t += 1
        if self._t >= self.config.max_steps:
            self._done = True
            # Running out of time is a wrong answer: a policy gains by reaching the junction at
            # all, long before it has learned to look at the cue.
            return (self._observation(), float(self.config.failure_reward), False, True,
                    {"success": False})
        reward = float(self.config.step_reward(lag_before, self.config.lag(self._x, self._t)))
        return self._observation(), reward, False, False, {}

    def _observation(self) -> np.ndarray:
        obs = np.zeros(OBS_DIM, np.float32)
        if self._x == 0:
            obs[CUE] = 1.0 if self._cue_side == 1 else -1.0
        if self._x == self.config.junction:
            obs[JUNCTION] = 1.0
        if self.config.noise:
            obs[NOISE] = episode_rng.noise_at(self._noise_key, np.array([self._t]))[0]
        return obs
