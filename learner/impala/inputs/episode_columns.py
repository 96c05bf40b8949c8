"""Steps recorded batched, one row per vector step, and written into RLlib episodes a whole
segment at a time (the batched EnvRunner's bookkeeping, learner.impala.inputs.batched_runner).

RLlib's `SingleAgentEpisode.add_env_step` takes one step of one sub-env: ~10 appends and a
dict walk each, per sub-env, per step. Here a vector step is recorded as a handful of [B, ...]
arrays; a segment of sub-env i (the steps it took in one episode within one `sample()`) is then
sliced out of the stacked [S, B, ...] columns and appended to the episode's buffers in one
concatenation, leaving the episode numpy'ized as `to_numpy()` would.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tree
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO
from ray.rllib.utils.spaces.space_utils import batch


_ENV_OWNED = (Columns.OBS, Columns.REWARDS, Columns.TERMINATEDS, Columns.TRUNCATEDS)


class StepColumns:
    """What every vector step of one `sample()` produced, [B, ...] per step until `stack()`."""

    def __init__(self) -> None:
        self._steps: dict[str, list[Any]] = {}
        self.infos: list[list[dict]] = []
        self.columns: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.infos)

    def record(self, outputs: dict[str, Any], infos: list[dict]) -> None:
        """`outputs`: OBS (the observation after the step), ACTIONS, REWARDS and the module's
        extra outputs (ACTION_LOGP, STATE_OUT {key: [B, H]}, ...), each batched over sub-envs."""
        for key, value in outputs.items():
            # A copy of what the env hands out: a vector env may refill the same buffer.
            self._steps.setdefault(key, []).append(
                np.array(value) if key in _ENV_OWNED else value)
        self.infos.append(infos)

    def stack(self) -> None:
        """[S, B, ...] columns (a dict of them for a nested output such as STATE_OUT)."""
        self.columns = {key: tree.map_structure(lambda *rows: np.stack(rows), *steps)
                        for key, steps in self._steps.items()}

    def append_to(self, episode: SingleAgentEpisode, env_index: int, start: int, stop: int,
                  *, weights_seq_no: int) -> None:
        """Appends steps [start, stop) of sub-env `env_index` to `episode`, numpy'ized; the last
        step's terminated/truncated flags become the episode's."""
        if stop <= start:
            return
        rows = {key: tree.map_structure(lambda leaf: leaf[start:stop, env_index], column)
                for key, column in self.columns.items()}
        _append(episode.observations, rows.pop(Columns.OBS))
        _append(episode.actions, rows.pop(Columns.ACTIONS))
        _append(episode.rewards, rows.pop(Columns.REWARDS))
        terminated = bool(rows.pop(Columns.TERMINATEDS)[-1])
        truncated = bool(rows.pop(Columns.TRUNCATEDS)[-1])
        rows[WEIGHTS_SEQ_NO] = np.full(stop - start, weights_seq_no)
        for key, value in rows.items():
            if key not in episode.extra_model_outputs:
                episode.extra_model_outputs[key] = InfiniteLookbackBuffer()
            _append(episode.extra_model_outputs[key], value)
        # Infos stay a list of dicts (RLlib never numpy'izes them); one list extend.
        episode.infos.data.extend([self.infos[step][env_index] or {}
                                   for step in range(start, stop)])
        episode.t += stop - start
        episode.is_terminated, episode.is_truncated = terminated, truncated
        # RLlib's episode duration metric reads these (a cut chunk starts with no start time).
        episode._last_step_time = time.perf_counter()
        if episode._start_time is None:
            episode._start_time = episode._last_step_time


def _append(buffer: InfiniteLookbackBuffer, rows: Any) -> None:
    """Concatenates [k, ...] rows (or a dict of them) after the buffer's data, lookback kept."""
    if buffer.finalized:
        old = buffer.data
    else:
        old = batch(buffer.data) if len(buffer.data) else None
    # A copy either way: a slice would keep the whole sample's [S, B, ...] column alive.
    buffer.data = (tree.map_structure(np.array, rows) if old is None else
                   tree.map_structure(lambda a, b: np.concatenate([a, b]), old, rows))
    buffer.finalized = True
