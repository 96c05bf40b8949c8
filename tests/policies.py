"""Hand-built phase-II policies for tests: a small `MemUPPolicyModule`, and one that provably
remembers the cue (so its success is 1.0 at every length)."""

from __future__ import annotations

from pathlib import Path

import torch
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import EnvSpec
from learner.impala.config import ImpalaConfig
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from learner.impala.training import module_settings
from memup_module import Memory, MemoryConfig, save_memory
from memup_module.rl_module import MemUPPolicyModule, policy_model_config


def small_policy(spec: EnvSpec, hidden_size: int = 8, head_hiddens: tuple = (2,),
                 encoder_size: int = 2, cell: str = "lstm") -> MemUPPolicyModule:
    """A module for `spec`'s sizes with torch's default (random) initialisation: seed torch to
    fix it."""
    agent_env = make_agent_env(rllib_env_config(spec))
    return RLModuleSpec(
        module_class=MemUPPolicyModule, observation_space=agent_env.observation_space,
        action_space=agent_env.action_space,
        model_config=policy_model_config(
            memory={"hidden_size": hidden_size, "encoder_size": encoder_size, "cell": cell,
                    "obs_dim": spec.obs_dim, "num_actions": spec.num_actions},
            head_hiddens=head_hiddens),
    ).build()


def random_memory_settings(folder: Path, impala: ImpalaConfig, hidden_size: int = 16) -> dict:
    """The policy module's model config over a random T-Maze memory saved in `folder` (torch
    seeded, so every call gives the same weights)."""
    torch.manual_seed(5)
    memory = save_memory(folder / "memory.pt", Memory(MemoryConfig(hidden_size=hidden_size)))
    return module_settings(impala, memory_path=memory, baseline=False)


def remembering(policy: MemUPPolicyModule) -> MemUPPolicyModule:
    """LSTM cell 0 latches the cue (input gate open only at the cue, forget gate ~1); the policy
    turns right when it holds +1 (the right cue) and left when it holds -1. Needs a policy of
    `small_policy`'s default sizes."""
    memory, head, hidden = policy.memory, policy.policy_head, policy.memory.config.hidden_size
    with torch.no_grad():
        for p in [*memory.parameters(), *head.parameters()]:
            p.zero_()
        memory.encoder.weight[0, 0], memory.encoder.weight[1, 0] = 1.0, -1.0
        w, b = memory.rnn.weight_ih_l0, memory.rnn.bias_ih_l0
        b[0], w[0, 0], w[0, 1] = -10.0, 20.0, 20.0  # input gate
        b[hidden] = 20.0  # forget gate
        w[2 * hidden, 0], w[2 * hidden, 1] = 5.0, -5.0  # candidate = ±1
        b[3 * hidden] = 20.0  # output gate
        first, last = head.mlp[0], head.mlp[2]
        first.weight[0, 0], first.weight[1, 0] = 1.0, -1.0  # relu(m0), relu(-m0)
        last.weight[1, 0], last.weight[0, 1] = 10.0, 10.0  # right <- m0 > 0, left <- m0 < 0
    return policy
