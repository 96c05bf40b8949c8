"""Greedy evaluation fast enough for million-step mazes: one batched step at a time, nothing more.

    result = stream_evaluate(load_policy(run.policy), TMazeConfig(1_000_000), seeds)
    result.greedy.success_rate, result.junction_memory      # [N, H]: m_{T-1} of every episode

Every junction is T-1 sequential steps away, so the cost is (T × one batched step). Each step
here is only what a step must be: the vector env and its agent inputs in numpy, the memory's
single-step path and the policy head in torch under `no_grad` — no RLlib forward wrapper, no
per-step dicts of states. Only the recurrent state is carried, never a [T, ...] tensor, so
memory use is the same at T = 100 and T = 1 000 000. Episodes of different lengths (T = L + U)
share the batch; each one's junction memory, reward and success are taken on the step its own
done flag rises, and the loop stops when the last one has ended.

The actions equal `policy_eval.greedy_evaluate`'s on the same seeds: it is the same module
computing the same tensors, minus the machinery around them (a test holds the two equal).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from envs import (
    EnvConfig,
    NoisyTMazeVectorEnv,
    PrevActionRewardVector,
    TMazeConfig,
    as_env_config,
)
from learner.impala.policy_eval import GreedyResult
from memup_module.rl_module import MemUPPolicyModule


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
def stream_evaluate(module: MemUPPolicyModule, tmaze: TMazeConfig | EnvConfig,
                    episode_seeds: np.ndarray) -> StreamResult:
    """Runs one episode per seed to its junction with argmax actions from a zero state (the
    Noisy T-Maze only: an `EnvConfig` of another env is an error)."""
    tmaze = as_env_config(tmaze).tmaze
    start = time.perf_counter()
    episodes = len(episode_seeds)
    maze = NoisyTMazeVectorEnv(episodes, **tmaze.env_kwargs())
    env = PrevActionRewardVector(maze)
    x, _ = env.reset(options={"episode_seeds": np.asarray(episode_seeds, np.uint64)})
    memory, head = module.memory, module.policy_head
    obs_dim = memory.config.obs_dim
    device = next(iter(memory.parameters())).device
    state = memory.initial_state(episodes, device)
    cue_sides = maze.cue_sides.copy()
    junction_memory = np.zeros((episodes, memory.hidden_size), np.float32)
    returns = np.zeros(episodes, np.float64)
    success = np.zeros(episodes, bool)
    running = np.ones(episodes, bool)
    steps = batched = 0
    while running.any():
        inputs = torch.as_tensor(x, device=device)[:, None, :]
        # The module's own `_embeddings` + policy head, with the same shapes it computes on.
        m, state = memory(inputs, state)
        logits = head(torch.cat([m, inputs[..., :obs_dim]], dim=-1))[:, 0]
        actions = logits.argmax(-1).cpu().numpy()
        x, rewards, terminated, _, infos = env.step(actions)
        batched += 1
        steps += int(running.sum())
        returns += np.where(running, rewards, 0.0)
        ended = running & terminated
        if ended.any():
            junction_memory[ended] = m[torch.as_tensor(ended), 0].float().cpu().numpy()
            success[ended] = infos["success"][ended]
        running &= ~terminated
    env.close()
    greedy = GreedyResult(float(success.mean()), float(returns.mean()), episodes, steps)
    return StreamResult(greedy, junction_memory, cue_sides, batched,
                        time.perf_counter() - start)
