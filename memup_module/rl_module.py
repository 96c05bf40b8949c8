"""The phase-II policy: the MemUP memory inside an RLlib `TorchRLModule` (docs/design.md §7).

    spec = RLModuleSpec(module_class=MemUPPolicyModule,
                        model_config=policy_model_config(memory_path="run/memup/memory.pt"))
    module = spec.build()                              # or IMPALAConfig().rl_module(...)
    module.save_to_path("run/policy")
    policy = load_policy("runs/latest/policy")         # any path; needs only memup_module

Observation = the agent input x_t = [o_t, one_hot(a_{t-1}), r_{t-1}] built by
`envs.PrevActionReward(Vector)` (6 floats on the T-Maze; obs_dim + num_actions + 1 of any env,
both sizes read from the memory's config). The memory m_t = g_θ(m_{t-1}, x_t) is the exact phase-I class;
its LSTM (h, c) (or GRU h) is the module's recurrent state. Policy and value heads are separate
MLPs on [m_t, encoder(o_t)], each with its own observation encoder: beyond the memory they share
no weights, so the value loss cannot swamp the policy through a shared trunk.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule

from memup_module.config import MemoryConfig
from memup_module.memory import Memory
from memup_module.memory_io import load_memory
from memup_module.rllib_notices import quiet_rllib_notices

# Imported in every process that builds the module (driver, each EnvRunner and learner).
quiet_rllib_notices()

DEFAULTS: dict[str, Any] = {
    "memory": None,  # MemoryConfig fields as a dict; used when memory_path is None
    "memory_path": None,  # a memup-memory/1 file (load_memory); overrides "memory"
    # The memory's weights {name: numpy array} with "memory": they travel inside the config
    # (through Ray), so EnvRunners and learners on other nodes never read a file.
    "memory_state": None,
    "freeze_memory": True,  # memory weights fixed and kept in eval mode
    "obs_encoder_size": 32,  # each head's Linear(obs_dim -> this) + ReLU on the raw o_t
    "head_hiddens": (64,),  # hidden widths of each of the policy and value MLPs
    "max_seq_len": 65,  # RLlib's train-time chunk length of recurrent sequences
}


def policy_model_config(**settings: Any) -> dict[str, Any]:
    """The module's `model_config` dict: `DEFAULTS` with `settings` applied (unknown keys fail)."""
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown MemUPPolicyModule setting {unknown[0]!r}; known: "
                         f"{', '.join(DEFAULTS)}")
    config = {**DEFAULTS, **settings}
    if config["memory_path"] is not None:
        config["memory_path"] = str(config["memory_path"])
    config["head_hiddens"] = tuple(int(h) for h in config["head_hiddens"])
    return config


class Head(nn.Module):
    """An MLP on [m_t, ReLU(Linear(o_t))] of embeddings [..., H + obs_dim] = [m_t, o_t]."""

    def __init__(self, memory_size: int, obs_dim: int, encoder_size: int,
                 hiddens: tuple[int, ...], out_size: int) -> None:
        super().__init__()
        self.memory_size = memory_size
        self.obs_encoder = nn.Sequential(nn.Linear(obs_dim, encoder_size), nn.ReLU())
        layers: list[nn.Module] = []
        in_size = memory_size + encoder_size
        for width in hiddens:
            layers += [nn.Linear(in_size, width), nn.ReLU()]
            in_size = width
        layers.append(nn.Linear(in_size, out_size))
        self.mlp = nn.Sequential(*layers)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        m, obs = embeddings.split([self.memory_size, embeddings.shape[-1] - self.memory_size], -1)
        return self.mlp(torch.cat([m, self.obs_encoder(obs)], dim=-1))

    # The first layer is W [m_t, enc(o_t)] + b = W_m m_t + (W_o enc(o_t) + b): whenever o_t is
    # known ahead, the bracket is one matmul over a chunk of steps (`precompute`) and a step
    # adds only W_m m_t and the layers above (`step`), as `Memory.precompute` / `step` do.

    def precompute(self, obs: torch.Tensor) -> torch.Tensor:
        """The o_t-only share of the first layer, bias included: obs [..., obs_dim] -> [..., W]."""
        first = self.mlp[0]
        w_obs = first.weight[:, self.memory_size:]
        return nn.functional.linear(self.obs_encoder(obs), w_obs, first.bias)

    def step(self, pre: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The head's output from `precompute`'s [B, W] and m_t [B, H]; equals `forward` on
        [m_t, o_t] to float rounding."""
        first, *rest = self.mlp
        out = torch.addmm(pre, m, first.weight[:, :self.memory_size].t())
        for layer in rest:
            out = layer(out)
        return out


class MemUPPolicyModule(TorchRLModule, ValueFunctionAPI, InferenceOnlyAPI):
    """IMPALA's policy + value function on top of the (pretrained) MemUP memory.

    `model_config` keys: see `DEFAULTS` (build it with `policy_model_config`). With
    `freeze_memory` the memory's parameters have `requires_grad=False`, it stays in eval mode
    and runs under `no_grad` at train time, so only the heads learn.
    """

    @property
    def settings(self) -> dict[str, Any]:
        return {**DEFAULTS, **(self.model_config or {})}

    def setup(self) -> None:
        settings = self.settings
        if settings["memory_path"] is not None:
            self.memory = load_memory(settings["memory_path"])
        else:
            self.memory = Memory(MemoryConfig(**(settings["memory"] or {})))
            if settings["memory_state"] is not None:
                self.memory.load_state_dict({name: torch.as_tensor(value) for name, value
                                             in settings["memory_state"].items()})
        config: MemoryConfig = self.memory.config
        obs_size = int(np.prod(self.observation_space.shape))
        if obs_size != config.input_size:
            raise ValueError(
                f"observations have {obs_size} values but the memory reads {config.input_size} "
                "(o_t, one-hot a_{t-1}, r_{t-1}): wrap the env in envs.PrevActionReward(Vector)"
            )
        if getattr(self.action_space, "n", None) != config.num_actions:
            raise ValueError(f"action space {self.action_space} does not match the memory's "
                             f"{config.num_actions} actions")
        # Which version of the memory the module runs (0: the one it was built with); the online
        # loop raises it with each memory it swaps in, and it travels with the weights.
        self.register_buffer("memory_version", torch.zeros((), dtype=torch.int64))
        self.freeze_memory = bool(settings["freeze_memory"])
        if self.freeze_memory:
            self.memory.requires_grad_(False)
            self.memory.eval()
        self._state_keys = self.memory.state_keys  # STATE_IN / STATE_OUT keys
        sizes = (config.hidden_size, config.obs_dim, int(settings["obs_encoder_size"]),
                 tuple(settings["head_hiddens"]))
        self.policy_head = Head(*sizes, config.num_actions)
        if not self.inference_only:
            self.value_head = Head(*sizes, 1)
        memory_parts = set(map(id, self.memory.modules()))
        # Plain lists (not nn.ModuleList): `train` flips their flags without walking the tree.
        self._trained_parts = [m for m in self.modules() if id(m) not in memory_parts]
        self._memory_parts = list(self.memory.modules())

    # -- RLModule -------------------------------------------------------------------------------

    def get_initial_state(self) -> dict[str, np.ndarray]:
        sizes = self.memory.rnn.state_sizes()
        return {key: np.zeros(size, np.float32) for key, size in zip(self._state_keys, sizes)}

    def train(self, mode: bool = True) -> "MemUPPolicyModule":
        # RLlib calls train() before every forward_train; a frozen memory stays in eval.
        # RLlib also calls eval() and train() around every exploration step: nn.Module.train's
        # recursion through __setattr__ cost ~10% of a sampling step, so only the flags are set.
        for part in self._trained_parts:
            part.__dict__["training"] = mode
        memory_mode = mode and not self.freeze_memory
        for part in self._memory_parts:
            part.__dict__["training"] = memory_mode
        return self

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        embeddings, state_out = self._embeddings(batch)
        return {
            Columns.ACTION_DIST_INPUTS: self.policy_head(embeddings),
            Columns.STATE_OUT: state_out,
        }

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        embeddings, state_out = self._embeddings(batch)
        return {
            Columns.ACTION_DIST_INPUTS: self.policy_head(embeddings),
            Columns.STATE_OUT: state_out,
            Columns.EMBEDDINGS: embeddings,
        }

    def compute_values(
        self, batch: dict[str, Any], embeddings: torch.Tensor | None = None
    ) -> torch.Tensor:
        if embeddings is None:
            embeddings, _ = self._embeddings(batch)
        return self.value_head(embeddings).squeeze(-1)

    def get_non_inference_attributes(self) -> list[str]:
        return ["value_head"]

    def get_ctor_args_and_kwargs(self) -> tuple[tuple, dict[str, Any]]:
        # A checkpoint rebuilds the memory from its architecture and takes the weights from
        # the module state, so restoring never needs the memory file.
        args, kwargs = super().get_ctor_args_and_kwargs()
        model_config = {**self.settings, "memory_path": None, "memory_state": None,
                        "memory": dataclasses.asdict(self.memory.config)}
        return args, {**kwargs, "model_config": model_config}

    # -- internals ------------------------------------------------------------------------------

    def _embeddings(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """[m_t, o_t] for obs [B, T, input_size] from STATE_IN, and the state after step T-1."""
        x = batch[Columns.OBS]
        state_in = tuple(batch[Columns.STATE_IN][key] for key in self._state_keys)
        if self.freeze_memory:
            with torch.no_grad():
                m, state = self.memory(x, state_in)
        else:
            m, state = self.memory(x, state_in)
        embeddings = torch.cat([m, x[..., : self.memory.config.obs_dim]], dim=-1)
        return embeddings, dict(zip(self._state_keys, state))


def load_policy(path: str | os.PathLike) -> RLModule:
    """A saved policy (`runs/latest/policy`, `~/memup-runs/x/baseline_policy`, ...) from any
    path as a user types it. `RLModule.from_checkpoint` hands its argument to Arrow's file
    systems, which take only absolute paths or URIs ("URI has empty scheme" otherwise).
    The checkpoint is RLlib's format (it pickles the module class): load only trusted ones."""
    return RLModule.from_checkpoint(str(Path(path).expanduser().resolve()))
