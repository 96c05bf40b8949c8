"""Uniform-random episodes stepped all at once with numpy, where the env allows it (the
T-Maze): the fast path behind phase I's held-out sets and the tests' generated episodes.

    rollouts = random_rollouts(spec, episode_seeds, rng)   # None: step the env's vector env
    for obs, action, reward, meta in rollouts: ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.spec import EnvSpec
from envs.vector_tmaze import NoisyTMazeVectorEnv

Rollout = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]
"""o_t float32 [T, obs_dim], a_t int32 [T], r_t float32 [T], the metadata a store records."""


def random_rollouts(spec: EnvSpec, episode_seeds: np.ndarray, rng: np.random.Generator
                    ) -> list[Rollout] | None:
    """One uniform-random episode per seed, or None where the env offers no fast path."""
    if not spec.config.is_tmaze:
        return None
    tmaze = spec.config.tmaze
    count = len(episode_seeds)
    env = NoisyTMazeVectorEnv(count, **tmaze.env_kwargs())
    obs, _ = env.reset(options={"episode_seeds": episode_seeds})
    lengths, cues = env.episode_lengths.copy(), env.cue_sides.copy()  # before any autoreset
    horizon = int(lengths.max())
    all_obs = np.zeros((count, horizon, obs.shape[1]), np.float32)
    actions = rng.integers(0, spec.num_actions, size=(count, horizon)).astype(np.int32)
    rewards = np.zeros((count, horizon), np.float32)
    for t in range(horizon):
        all_obs[:, t] = obs
        obs, reward, _, _, _ = env.step(actions[:, t])
        rewards[:, t] = reward
    rollouts = []
    for i in range(count):
        length = int(lengths[i])
        success = bool(rewards[i, length - 1] == tmaze.success_reward)
        meta = {"seed": int(episode_seeds[i]), "length": length, "success": success,
                "cue_side": int(cues[i]), "env_kwargs": tmaze.env_kwargs(), "policy_id": "random"}
        rollouts.append((all_obs[i, :length].copy(), actions[i, :length].copy(),
                         rewards[i, :length].copy(), meta))
    return rollouts
