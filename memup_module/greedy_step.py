"""The policy's greedy step, split into what depends on the past and what does not.

    stepper = GreedyStepper(module)
    pending = stepper.precompute(obs)                # obs [K, N, obs_dim]: a chunk of time
    state, actions = stepper.initial_state(N), None
    for k in range(K):
        actions, m, state = stepper.step(pending, k, actions, state)

Whenever o_t is known ahead (the T-Maze corridor does not depend on the actions), what reads
only o_t — the memory's encoder and its share of the input gates, the head's obs part — is one
large matmul per chunk of K steps (`Memory.precompute`, `Head.precompute`); per step remain
the recurrent matmul, a W_ih column per a_{t-1}, the gates and the head on m_t (`Memory.step`,
`Head.step`). It only calls the module's own methods, so the module's math exists once and a
new memory cell brings its own step. r_{t-1} is taken to be zero: it is for every step of a
T-Maze episode, whose only reward ends it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from memup_module.memory import State

if TYPE_CHECKING:  # rl_module imports RLlib; this file needs only the module's parts
    from memup_module.rl_module import MemUPPolicyModule


@dataclasses.dataclass(frozen=True)
class Pending:
    """The o_t-only terms of a chunk of K steps."""

    memory: torch.Tensor  # [K, N, G·H]: Memory.precompute
    head: torch.Tensor  # [K, N, W]: the policy head's Head.precompute


class GreedyStepper:
    """One module's greedy policy, step by step, from precomputed observation terms."""

    def __init__(self, module: MemUPPolicyModule) -> None:
        self.memory, self.head = module.memory, module.policy_head

    def initial_state(self, episodes: int, device: torch.device | str = "cpu") -> State:
        return self.memory.initial_state(episodes, device)

    @torch.no_grad()
    def precompute(self, obs: torch.Tensor) -> Pending:
        """The o_t-only terms of a chunk obs [K, N, obs_dim]."""
        return Pending(self.memory.precompute(obs), self.head.precompute(obs))

    @torch.no_grad()
    def step(self, pending: Pending, k: int, previous: torch.Tensor | None,
             state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """(greedy actions [N], m_t [N, H], state) at step k of the chunk, after actions
        `previous` (None at an episode's first step)."""
        m, state = self.memory.step(pending.memory[k], previous, state)
        return self.head.step(pending.head[k], m).argmax(-1), m, state
