"""U_t of one episode kept chunk by chunk: 2 bytes per step and target, K rows per chunk.

The top K of the steps k >= t (t in chunk c) lie in chunk c itself or among the top K of the
steps after chunk c (the selector's sweep carries exactly those across the chunk boundary).
So each chunk keeps that carried top K with its targets' context and class (they may lie
anywhere ahead, up to the junction at T - 1), and each step a 16-bit code:

    code < chunk_steps         the step chunk_start + code of its own chunk
    chunk_steps + j            the carried entry j of its chunk
    INVALID                    no such target (fewer than K steps left)

A slot holding chunks c and c + 1 thus resolves every target of its steps without reading the
rest of the episode.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from learner.memup.inputs.columns import EpisodeColumns

INVALID = np.iinfo(np.uint16).max
MAX_CHUNK_STEPS = 32_768
"""Codes are uint16: chunk_steps + K must stay below INVALID."""


@dataclasses.dataclass(frozen=True)
class ChunkTargets:
    chunk_steps: int
    codes: np.ndarray  # uint16 [T, K]
    carry_index: np.ndarray  # int64 [C, K]: the top K after chunk c, -1 where invalid
    carry_context: np.ndarray  # float32 [C, K, F]: their contexts
    carry_classes: np.ndarray  # int64 [C, K]: their f_k classes

    @property
    def top_k(self) -> int:
        return self.codes.shape[1]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.codes, self.carry_index, self.carry_context,
                                      self.carry_classes))

    def resolve(self, start: int, stop: int, carry_row: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For steps start .. stop - 1, window-relative rows of their targets: a step of the
        window (start = chunk start) -> its offset; carried entry j of the window's i-th chunk
        -> carry_row + i * K + j. Returns (rows [n, K], valid [n, K], global indices [n, K])."""
        steps = np.arange(start, stop)
        codes = self.codes[start:stop].astype(np.int64)
        chunk_start = steps // self.chunk_steps * self.chunk_steps
        valid = codes != INVALID
        in_chunk = codes < self.chunk_steps
        carried = valid & ~in_chunk
        j = np.where(carried, codes - self.chunk_steps, 0)
        chunk = steps // self.chunk_steps
        rows = np.where(in_chunk, chunk_start[:, None] + codes - start,
                        carry_row + (chunk - chunk[0])[:, None] * self.top_k + j)
        rows = np.where(valid, rows, (steps - start)[:, None])
        index = np.where(in_chunk, chunk_start[:, None] + codes,
                         self.carry_index[chunk[:, None], j])
        return rows, valid, np.where(valid, index, steps[:, None])

    def state(self) -> dict[str, np.ndarray]:
        return {"codes": self.codes, "carry_index": self.carry_index,
                "carry_context": self.carry_context, "carry_classes": self.carry_classes}


def encode_targets(columns: EpisodeColumns, indices: np.ndarray, valid: np.ndarray,
                   chunk_steps: int) -> ChunkTargets:
    """The compact form of U_t's top-K part (indices/valid [T, K] from `stream_targets`)."""
    length, top_k = indices.shape
    chunks = -(-length // chunk_steps)
    boundary = np.arange(1, chunks + 1) * chunk_steps  # the first step after each chunk
    carry_index = np.full((chunks, top_k), -1, np.int64)
    inside = boundary < length
    carry_index[inside] = np.where(valid[boundary[inside]], indices[boundary[inside]], -1)
    codes = np.full((length, top_k), INVALID, np.uint16)
    for c in range(chunks):
        part = slice(c * chunk_steps, min((c + 1) * chunk_steps, length))
        found, ok = indices[part], valid[part]
        local = ok & (found < boundary[c])
        codes[part][local] = (found - c * chunk_steps)[local]
        match = (found[:, :, None] == carry_index[c][None, None, :]) & (ok & ~local)[..., None]
        if (match.any(-1) != (ok & ~local)).any():
            raise AssertionError("a target beyond its chunk is not among the chunk's carried "
                                 "top K: the selector's sweep and the chunks disagree")
        codes[part][ok & ~local] = (chunk_steps + match.argmax(-1))[ok & ~local]
    rows = carry_index.clip(min=0).ravel()
    context = columns.context_at(rows).reshape(chunks, top_k, -1)
    classes = columns.classes[rows].astype(np.int64).reshape(chunks, top_k)
    return ChunkTargets(chunk_steps, codes, carry_index, context, classes)
