"""Evaluation of a phase-II policy on held-out episodes of any env (docs/design.md §7, §11).

    greedy = greedy_evaluate(module, env_spec, episodes=256, seed=2_000_003)
    sampled = sampled_evaluate(module, EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",)),
                               episodes=256, seed=2_000_003)
    {**greedy.as_metrics(), **sampled_metrics(sampled)}

All episodes run side by side in one vector env (one batched forward pass per step), from
episode seeds drawn from `seed` alone, so every evaluation of every policy sees the same
episodes. Each episode runs to its end (terminated or truncated), at most the env's
`max_episode_steps`. Greedy takes the argmax action; sampled draws from the policy's softmax
with a numpy generator seeded from `seed`, so it is deterministic too. Works with any stateful
discrete-action RLModule, e.g. `RLModule.from_checkpoint(run/"policy")`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import EnvSpec, PrevActionRewardVector, draw_episode_seeds, make_vector_env
from learner.impala.evaluation.confidence import success_lower_bound


@dataclasses.dataclass(frozen=True)
class GreedyResult:
    """The figures of one evaluation over held-out episodes (greedy actions, or sampled ones
    from `sampled_evaluate`)."""

    success_rate: float
    """An env that reports success (the T-Maze): fraction of episodes whose last `info` says
    `success`. Any other env: fraction of episodes with a return > 0, a rough
    "solved" figure (mean_return is the measure to compare there)."""
    mean_return: float
    """Mean undiscounted episode return."""
    episodes: int
    env_steps: int
    """Decision steps of all evaluated episodes together."""

    def as_metrics(self) -> dict[str, float]:
        """`impala/success_rate`, its 95 % lower bound, `impala/mean_return`, ..."""
        successes = round(self.success_rate * self.episodes)
        return {"impala/success_rate": self.success_rate, "impala/mean_return": self.mean_return,
                "impala/success_lower_bound": success_lower_bound(successes, self.episodes),
                "impala/eval_episodes": float(self.episodes),
                "impala/eval_env_steps": float(self.env_steps)}


def sampled_metrics(result: GreedyResult) -> dict[str, float]:
    """`impala/sampled_mean_return` and `impala/sampled_success_rate` of a sampled evaluation."""
    return {"impala/sampled_mean_return": result.mean_return,
            "impala/sampled_success_rate": result.success_rate}


def held_out_seeds(seed: int, episodes: int) -> np.ndarray:
    """Episode seeds of the evaluation set (training episodes draw theirs from the env's RNG)."""
    return draw_episode_seeds(np.random.default_rng(seed), episodes)


def greedy_evaluate(module: RLModule, env: EnvSpec, episodes: int, seed: int) -> GreedyResult:
    """Runs `episodes` held-out episodes to their end with argmax actions from a zero state."""
    return _evaluate(module, env, episodes, seed, sampler=None)


def sampled_evaluate(module: RLModule, env: EnvSpec, episodes: int, seed: int) -> GreedyResult:
    """The same held-out episodes with actions drawn from the policy's softmax: the return the
    stochastic policy (the one IMPALA trains and POPGym's MMER measures) earns."""
    # A stream apart from the episode seeds' own (which use `seed` alone).
    sampler = np.random.default_rng([seed, 0x5A3])
    return _evaluate(module, env, episodes, seed, sampler=sampler)


@torch.no_grad()
def _evaluate(module: RLModule, spec: EnvSpec, episodes: int, seed: int,
              sampler: np.random.Generator | None) -> GreedyResult:
    env = PrevActionRewardVector(make_vector_env(spec, episodes))
    x, _ = env.reset(options={"episode_seeds": held_out_seeds(seed, episodes)})
    device = next(iter(module.parameters()), torch.zeros(0)).device
    state = {k: torch.as_tensor(np.repeat(v[None], episodes, 0), device=device)
             for k, v in module.get_initial_state().items()}
    returns = np.zeros(episodes, np.float64)
    success = np.zeros(episodes, bool)
    running = np.ones(episodes, bool)
    steps = 0
    for _ in range(spec.max_episode_steps):
        obs = torch.as_tensor(x, device=device)[:, None, :]
        out = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: state})
        logits = out[Columns.ACTION_DIST_INPUTS][:, 0]
        actions = _actions(logits, sampler)
        state = out[Columns.STATE_OUT]
        x, rewards, terminated, truncated, infos = env.step(actions)
        steps += int(running.sum())
        returns += np.where(running, rewards, 0.0)
        if spec.reports_success and "success" in infos:
            ended = running & infos["_success"]
            success[ended] = infos["success"][ended]
        # A finished sub-env restarts on its next step; `running` keeps it out of the figures.
        running &= ~(np.asarray(terminated) | np.asarray(truncated))
        if not running.any():
            break
    env.close()
    if not spec.reports_success:
        success = returns > 0
    return GreedyResult(float(success.mean()), float(returns.mean()), episodes, steps)


def _actions(logits: torch.Tensor, sampler: np.random.Generator | None) -> np.ndarray:
    """Argmax, or one draw per row from softmax(logits) by inverting its CDF with `sampler`."""
    if sampler is None:
        return logits.argmax(-1).cpu().numpy()
    cdf = torch.softmax(logits.double(), -1).cumsum(-1).cpu().numpy()
    u = sampler.random(len(cdf))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(-1), cdf.shape[1] - 1)
