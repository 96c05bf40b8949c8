"""The memory's input at step t: x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] (docs/design.md §3).

`memory_inputs` builds it from the columns of a stored episode (phase I); the wrappers build the
same vector online (phase II). Both write float32 values into the same layout, so they agree
bit for bit on the same episode.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

NUM_ACTIONS = 2
"""The T-Maze's actions; any other env's count comes from its Discrete action space."""


def memory_inputs(obs: np.ndarray, action: np.ndarray, reward: np.ndarray,
                  num_actions: int = NUM_ACTIONS) -> np.ndarray:
    """x[T, obs_dim + num_actions + 1] from an episode's columns o_t, a_t, r_t (t = 0..T-1)."""
    length, obs_dim = obs.shape
    if action.shape != (length,) or reward.shape != (length,):
        raise ValueError(
            f"columns disagree on the episode length: obs {obs.shape}, action {action.shape}, "
            f"reward {reward.shape}"
        )
    x = np.zeros((length, obs_dim + num_actions + 1), np.float32)
    x[:, :obs_dim] = obs
    x[np.arange(1, length), obs_dim + action[:-1]] = 1.0
    x[1:, obs_dim + num_actions] = reward[:-1]
    return x


def _agent_space(obs_space: gym.spaces.Box, num_actions: int,
                 reward_range: tuple[float, float]) -> gym.spaces.Box:
    low = np.concatenate([obs_space.low, [0.0] * num_actions, [min(reward_range[0], 0.0)]])
    high = np.concatenate([obs_space.high, [1.0] * num_actions, [max(reward_range[1], 0.0)]])
    return gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


def _reward_range(env: Any) -> tuple[float, float]:
    """The T-Maze's two rewards; unbounded for an env that does not say."""
    config = getattr(env.unwrapped, "config", None)
    if config is None or not hasattr(config, "success_reward"):
        return -np.inf, np.inf
    rewards = (config.success_reward, config.failure_reward)
    return min(rewards), max(rewards)


def _flat_obs_space(space: gym.Space) -> gym.spaces.Box:
    if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
        raise ValueError(f"agent inputs need flat Box observations, got {space}: build the env "
                         "with envs.make_env / make_vector_env, which flatten them")
    return space


class PrevActionReward(gym.Wrapper):
    """Appends the previous action (one-hot) and reward to each flat observation."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._num_actions = int(env.action_space.n)
        obs_space = _flat_obs_space(env.observation_space)
        self.observation_space = _agent_space(obs_space, self._num_actions, _reward_range(env))
        self._obs_dim = obs_space.shape[0]

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return self._agent_input(obs, None, 0.0), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._agent_input(obs, int(action), reward), reward, terminated, truncated, info

    def _agent_input(self, obs: np.ndarray, action: int | None, reward: float) -> np.ndarray:
        x = np.zeros(self._obs_dim + self._num_actions + 1, np.float32)
        x[: self._obs_dim] = obs
        if action is not None:
            x[self._obs_dim + action] = 1.0
            x[self._obs_dim + self._num_actions] = reward
        return x


class PrevActionRewardVector(gym.vector.VectorWrapper):
    """`PrevActionReward` for a next-step-autoreset vector env: a sub-env's restart step gets
    a zero previous action and reward, as a fresh episode's first step does."""

    def __init__(self, env: gym.vector.VectorEnv) -> None:
        super().__init__(env)
        self._num_actions = int(env.single_action_space.n)
        obs_space = _flat_obs_space(env.single_observation_space)
        self.single_observation_space = _agent_space(obs_space, self._num_actions,
                                                     _reward_range(env))
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, env.num_envs
        )
        self._obs_dim = obs_space.shape[0]
        self._restarting = np.zeros(env.num_envs, bool)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, infos = self.env.reset(**kwargs)
        self._restarting[:] = False
        return self._agent_inputs(obs, None, None), infos

    def step(self, actions: Any) -> tuple[np.ndarray, Any, Any, Any, dict[str, Any]]:
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        x = self._agent_inputs(obs, np.asarray(actions), np.asarray(rewards))
        self._restarting = np.logical_or(terminated, truncated)
        return x, rewards, terminated, truncated, infos

    def _agent_inputs(
        self, obs: np.ndarray, actions: np.ndarray | None, rewards: np.ndarray | None
    ) -> np.ndarray:
        x = np.zeros((self.num_envs, self._obs_dim + self._num_actions + 1), np.float32)
        x[:, : self._obs_dim] = obs
        if actions is not None:
            live = np.flatnonzero(~self._restarting)
            x[live, self._obs_dim + actions[live]] = 1.0
            x[live, self._obs_dim + self._num_actions] = rewards[live]
        return x
