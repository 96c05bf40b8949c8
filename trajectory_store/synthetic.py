"""Synthetic episodes shaped like Noisy T-Maze ones, for tests and benchmarks (no env needed)."""

from __future__ import annotations

import numpy as np

from trajectory_store.episode import Episode


def random_episode(
    rng: np.random.Generator,
    length: int,
    *,
    obs_dim: int = 3,
    collector_id: str = "synthetic",
    policy_id: str = "uniform-random",
) -> Episode:
    """A T-Maze-like episode: cue +-1 at t=0, junction flag at T-1, +-1 noise, random actions,
    reward only at the last step (4 or -3)."""
    obs = np.zeros((length, obs_dim), dtype=np.float32)
    cue = float(rng.choice([-1.0, 1.0]))
    obs[0, 0] = cue
    if obs_dim > 1:
        obs[-1, 1] = 1.0
    if obs_dim > 2:
        obs[:, 2:] = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(length, obs_dim - 2))
    action = rng.integers(0, 2, size=length, dtype=np.int32)
    success = bool(action[-1] == (cue > 0))
    reward = np.zeros(length, dtype=np.float32)
    reward[-1] = 4.0 if success else -3.0
    return Episode.create(
        obs,
        action,
        reward,
        env_id="memup/NoisyTMaze-v0",
        env_kwargs={"corridor_length": length, "length_jitter": 0},
        seed=int(rng.integers(0, 2**63)),
        collector_id=collector_id,
        policy_id=policy_id,
        success=success,
    )
