"""Lean EnvRunner connectors for `MemUPPolicyModule`: one batched pass per step (issue #12).

RLlib's default env-to-module and module-to-env pipelines treat every sub-env as its own item
(per-env dicts, `tree.map_structure`, unbatch and re-batch, an extra time rank added and
removed); with 64 mazes that took ~half of a sampling step. These two pieces do the same job
for a single-agent, recurrent module with discrete actions in one numpy/torch pass:

    config.env_runners(add_default_connectors_to_env_to_module_pipeline=False,
                       add_default_connectors_to_module_to_env_pipeline=False,
                       env_to_module_connector=env_to_module,
                       module_to_env_connector=module_to_env)

- `BatchAgentInputs` (env -> module): OBS [B, 1, D] and STATE_IN {key: [B, H]} tensors. The
  state is the previous step's STATE_OUT, carried batched in `shared_data` (zeros for an episode
  that has just been reset), the same values RLlib's `AddStatesFromEpisodesToBatch` reads back
  from every episode one by one.
- `SampleActions` (module -> env): actions sampled from (or, without exploration, the argmax
  of) the policy logits, with ACTION_LOGP and STATE_OUT per sub-env (for `BatchedEnvRunner`
  STATE_OUT stays batched, {key: [B, H]}): what the learner needs
  (IMPALA's behaviour log-probs; STATE_IN at sequence starts is rebuilt from STATE_OUT).
  ACTION_DIST_INPUTS is left out of the episodes: IMPALA's loss recomputes the logits.

The learner's connector pipeline stays RLlib's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from learner.impala.inputs.exploration import ExplorationSettings, RepeatExploration

CARRIED_STATE = "memup_state_out"
"""`shared_data` key of the last STATE_OUT, {key: [B, H] tensor}, batched as the module made it."""
BATCHED_OUTPUTS = "memup_batched_outputs"
"""Set by `BatchedEnvRunner`: STATE_OUT goes out as {key: [B, H]}, not one dict per sub-env."""
FRESH_FOR_STATE = "memup_fresh_for_state"
FRESH_FOR_ACTIONS = "memup_fresh_for_actions"
"""Set by `BatchedEnvRunner`: [B] bool, which sub-envs' episodes have no step yet, in place of
reading `episode.t` from every episode (each connector's moment sees its own mask)."""


class BatchAgentInputs(ConnectorV2):
    """Env -> module: the sub-envs' observations and recurrent states as batched tensors."""

    def __init__(self, *args: Any, device: torch.device | str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._device = torch.device(device or "cpu")

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> Any:
        # The EnvRunner hands the step's observations in as a list, one array per sub-env.
        observations = kwargs.get(Columns.OBS)
        if observations is None:
            observations = [episode.get_observations(-1) for episode in episodes]
        if not isinstance(observations, np.ndarray):
            observations = np.stack(observations)
        obs = torch.from_numpy(np.asarray(observations, dtype=np.float32))
        batch[Columns.OBS] = obs.to(self._device).unsqueeze(1)
        batch[Columns.STATE_IN] = self._state_in(rl_module, episodes, shared_data)
        return batch

    def _state_in(self, module: Any, episodes: list[Any],
                  shared_data: dict | None) -> dict[str, torch.Tensor]:
        carried = (shared_data or {}).get(CARRIED_STATE)
        if carried is None or _batch_size(carried) != len(episodes):
            return self._state_from_episodes(module, episodes)
        # An episode with no step yet (reset, not a cut continuation: t_started = len = 0)
        # starts from zeros.
        fresh = _fresh(shared_data, FRESH_FOR_STATE, episodes)
        if not fresh.any():
            return dict(carried)
        keep = torch.from_numpy(~fresh).to(self._device).unsqueeze(1)
        # A new tensor, never in place: the episodes hold numpy views of the carried state.
        return {key: value * keep for key, value in carried.items()}

    def _state_from_episodes(self, module: Any, episodes: list[Any]) -> dict[str, torch.Tensor]:
        """RLlib's own rule, per episode: the initial state or the last STATE_OUT."""
        initial = {key: np.asarray(value) for key, value in module.get_initial_state().items()}
        states = []
        for episode in episodes:
            if episode.t == 0 or Columns.STATE_OUT not in episode.extra_model_outputs:
                states.append(initial)
            else:
                states.append(episode.get_extra_model_outputs(key=Columns.STATE_OUT, indices=-1))
        return {key: torch.from_numpy(np.stack([s[key] for s in states]).astype(np.float32))
                .to(self._device) for key in initial}


class SampleActions(ConnectorV2):
    """Module -> env: actions, their log-probs and the new state, one item per sub-env.
    `exploration`: while exploring, held random actions mix in (inputs.exploration)."""

    def __init__(self, *args: Any, exploration: ExplorationSettings | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settings = exploration if exploration and exploration.repeat_prob > 0 else None
        self._exploration: RepeatExploration | None = None

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: list[Any],
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> Any:
        logits = batch[Columns.ACTION_DIST_INPUTS].detach()
        # numpy from here on: a handful of [B, A] ops, where torch's per-op dispatch dominated.
        logits = logits.cpu().numpy().reshape(-1, logits.shape[-1]).astype(np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        if explore:  # inverse CDF with numpy's global RNG, which RLlib seeds per EnvRunner
            cdf = np.exp(log_probs).cumsum(axis=-1)
            draws = np.random.random((len(cdf), 1)) * cdf[:, -1:]
            actions = np.minimum((draws >= cdf).sum(axis=-1), cdf.shape[-1] - 1)
        else:
            actions = log_probs.argmax(axis=-1)
        if explore and self._settings is not None:
            if self._exploration is None:
                self._exploration = RepeatExploration(self._settings, log_probs.shape[-1])
            fresh = _fresh(shared_data, FRESH_FOR_ACTIONS, episodes)
            actions, logp = self._exploration.apply(actions, log_probs, fresh)
        else:
            logp = np.take_along_axis(log_probs, actions[:, None], axis=-1)[:, 0]
        state_out = {key: value.detach() for key, value in batch[Columns.STATE_OUT].items()}
        if shared_data is not None:
            shared_data[CARRIED_STATE] = state_out
        batched = bool((shared_data or {}).get(BATCHED_OUTPUTS))
        return {
            Columns.ACTIONS: actions,
            Columns.ACTION_LOGP: logp.astype(np.float32),
            Columns.STATE_OUT: ({key: value.cpu().numpy() for key, value in state_out.items()}
                                if batched else _per_env(state_out)),
        }


def _fresh(shared_data: dict | None, key: str, episodes: list[Any]) -> np.ndarray:
    """[B] bool: the episodes with no step yet, from the runner's mask where it sets one."""
    fresh = (shared_data or {}).get(key)
    if fresh is None:
        fresh = np.array([episode.t == 0 for episode in episodes], dtype=bool)
    return fresh


def _per_env(state: Mapping[str, torch.Tensor]) -> list[dict[str, np.ndarray]]:
    """{key: [B, H]} -> B dicts {key: [H]} (numpy views), as episodes store STATE_OUT."""
    keys = list(state)
    arrays = [state[key].cpu().numpy() for key in keys]
    if len(keys) == 2:  # the LSTM's (h, c): a dict literal is ~2x faster than dict(zip())
        first, second = keys
        return [{first: a, second: b} for a, b in zip(*arrays)]
    return [dict(zip(keys, rows)) for rows in zip(*arrays)]


def _batch_size(state: Mapping[str, torch.Tensor]) -> int:
    return int(next(iter(state.values())).shape[0])


def env_to_module(env: Any = None, spaces: Any = None, device: Any = None) -> ConnectorV2:
    """`config.env_runners(env_to_module_connector=...)`: the lean env-to-module piece."""
    return BatchAgentInputs(device=device)


def module_to_env(env: Any = None, spaces: Any = None,
                  exploration: ExplorationSettings | None = None) -> ConnectorV2:
    """`config.env_runners(module_to_env_connector=...)`: the lean module-to-env piece (bind
    `exploration` with functools.partial)."""
    return SampleActions(exploration=exploration)
