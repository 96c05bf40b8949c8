"""Greedy evaluation of a phase-II policy on held-out Noisy T-Mazes (DESIGN.md §7).

    result = greedy_evaluate(module, TMazeConfig(100), episodes=256, seed=2_000_003)
    result.success_rate, result.mean_return

All episodes run side by side in one vector env (one batched forward pass per step), from
episode seeds drawn from `seed` alone, so every evaluation of every policy sees the same mazes.
Works with any stateful discrete-action RLModule, e.g. `RLModule.from_checkpoint(run/"policy")`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import NoisyTMazeVectorEnv, PrevActionRewardVector, TMazeConfig, draw_episode_seeds


@dataclasses.dataclass(frozen=True)
class GreedyResult:
    success_rate: float
    """Fraction of episodes whose junction action named the cue side."""
    mean_return: float
    """Mean undiscounted episode return."""
    episodes: int
    env_steps: int
    """Decision steps of all evaluated episodes together."""

    def as_metrics(self) -> dict[str, float]:
        """`impala/success_rate`, `impala/mean_return`, `impala/eval_episodes`, ..."""
        return {"impala/success_rate": self.success_rate, "impala/mean_return": self.mean_return,
                "impala/eval_episodes": float(self.episodes),
                "impala/eval_env_steps": float(self.env_steps)}


def held_out_seeds(seed: int, episodes: int) -> np.ndarray:
    """Episode seeds of the evaluation set (training episodes draw theirs from the env's RNG)."""
    return draw_episode_seeds(np.random.default_rng(seed), episodes)


@torch.no_grad()
def greedy_evaluate(module: RLModule, tmaze: TMazeConfig, episodes: int, seed: int) -> GreedyResult:
    """Runs `episodes` held-out episodes to their end with argmax actions from a zero state."""
    env = PrevActionRewardVector(NoisyTMazeVectorEnv(episodes, **tmaze.env_kwargs()))
    x, _ = env.reset(options={"episode_seeds": held_out_seeds(seed, episodes)})
    device = next(iter(module.parameters()), torch.zeros(0)).device
    state = {k: torch.as_tensor(np.repeat(v[None], episodes, 0), device=device)
             for k, v in module.get_initial_state().items()}
    returns = np.zeros(episodes, np.float64)
    success = np.zeros(episodes, bool)
    running = np.ones(episodes, bool)
    steps = 0
    for _ in range(tmaze.max_episode_steps):
        obs = torch.as_tensor(x, device=device)[:, None, :]
        out = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: state})
        actions = out[Columns.ACTION_DIST_INPUTS][:, 0].argmax(-1).cpu().numpy()
        state = out[Columns.STATE_OUT]
        x, rewards, terminated, _, infos = env.step(actions)
        steps += int(running.sum())
        returns += np.where(running, rewards, 0.0)
        if "success" in infos:
            ended = running & infos["_success"]
            success[ended] = infos["success"][ended]
        running &= ~terminated
        if not running.any():
            break
    env.close()
    return GreedyResult(float(success.mean()), float(returns.mean()), episodes, steps)
