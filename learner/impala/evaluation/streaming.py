"""Greedy evaluation fast enough for million-step mazes: one batched step at a time, nothing more.

    result = stream_evaluate(load_policy(run.policy), spec.at_length(1_000_000), seeds)
    result.greedy.success_rate, result.junction_memory      # [N, H]: m_{T-1} of every episode

Every junction is T-1 sequential steps away, so the cost is (T × one batched step). Each step
here is only what a step must be: the recurrent matmul, the gates and the policy head on m_t
(`GreedyStepper`) — no RLlib forward wrapper, no per-step dicts, no env step. The corridor does
not depend on the actions, so its observations (`envs.open_loop_episodes`)
and every term that reads only them are computed `CHUNK_STEPS` steps at a time. Only the
recurrent state and one chunk are held, never a [T, ...] tensor, so memory use is the same at
T = 100 and T = 1 000 000. Episodes of different lengths (T = L + U) share the batch; each one's
junction memory and choice are taken at its own junction step, where the env's rules give its
reward, and the loop stops when the last one has ended.

The actions equal `held_out.greedy_evaluate`'s on the same seeds: it is the same module
computing the same functions, minus the machinery around them (a test holds the two equal).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from envs import EnvSpec, open_loop_episodes
from learner.impala.evaluation.held_out import GreedyResult
from memup_module.greedy_step import GreedyStepper
from memup_module.rl_module import MemUPPolicyModule

CHUNK_STEPS = 64
"""Steps whose observation terms are computed together: [64, N, 4H] floats (16 MB at N = 64,
H = 256), whatever the episode length."""


@dataclasses.dataclass(frozen=True)
class StreamResult:
    """What one streamed evaluation saw."""

    greedy: GreedyResult
    """Greedy success rate and mean return, as `greedy_evaluate` reports them."""
    junction_memory: np.ndarray
    """m_{T-1} [N, H] of every episode: what the policy head reads at the junction."""
    cue_sides: np.ndarray
    """[N] 0 (left) or 1 (right): the label a probe of `junction_memory` should recover."""
    batched_steps: int
    """Sequential depth of the run: the longest episode's T."""
    wall_s: float

    @property
    def seconds_per_step(self) -> float:
        """Wall time of one batched step (env + memory + head for all N episodes)."""
        return self.wall_s / max(self.batched_steps, 1)


@torch.no_grad()
def stream_evaluate(module: MemUPPolicyModule, env: EnvSpec,
                    episode_seeds: np.ndarray, chunk_steps: int = CHUNK_STEPS) -> StreamResult:
    """Runs one episode per seed to its junction with argmax actions from a zero state (an env
    with `junction_cue` only, whose observations do not depend on the actions)."""
    start = time.perf_counter()
    episodes = len(episode_seeds)
    maze = open_loop_episodes(env, episode_seeds)
    lengths = maze.lengths
    stepper = GreedyStepper(module)
    device = next(iter(module.parameters())).device
    state, actions = stepper.initial_state(episodes, device), None
    junction_memory = np.zeros((episodes, module.memory.hidden_size), np.float32)
    last_actions = np.zeros(episodes, np.int64)
    horizon = int(lengths.max())
    for first in range(0, horizon, chunk_steps):
        steps = np.arange(first, min(first + chunk_steps, horizon))
        # An episode that has ended keeps stepping on its junction observation; nothing of it
        # is read after its own junction.
        obs = maze.observations_at(np.minimum(steps[:, None], lengths - 1))
        pending = stepper.precompute(torch.from_numpy(obs).to(device))
        ending = {int(t) - first: np.flatnonzero(lengths - 1 == t)
                  for t in np.intersect1d(steps, lengths - 1)}
        for k in range(len(steps)):
            actions, m, state = stepper.step(pending, k, actions, state)
            if k in ending:
                ended = ending[k]
                junction_memory[ended] = m[ended].float().cpu().numpy()
                last_actions[ended] = actions[ended].cpu().numpy()
    success, returns = maze.score(last_actions)
    greedy = GreedyResult(float(success.mean()), float(returns.mean()), episodes,
                          int(lengths.sum()))
    return StreamResult(greedy, junction_memory, maze.answers.copy(), horizon,
                        time.perf_counter() - start)
