"""U_t: the K highest-score steps k >= t of an episode, plus t itself (docs/design.md §6).

Both methods are linear in T and batched over episodes; neither ever forms a [T, T] array.
`stream_targets` runs the same sweeps over one episode part by part, so that its temporaries
stay bounded at any T (the learner's slots, docs/design.md §13).
K = 1 is one suffix-max sweep; K > 1 sweeps blocks of steps from the end, carrying the top K of
everything after the block, so each step looks at one block and K carried candidates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

_BLOCK = 64
TARGET_SELECTIONS = ("detector", "uniform", "last")


def _prepared_scores(scores: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
    steps = torch.arange(scores.shape[1], device=scores.device)
    live = steps < lengths.to(scores.device).unsqueeze(1)
    lowest = torch.finfo(torch.float32).min
    finite = torch.nan_to_num(scores.float(), nan=-torch.inf).clamp(min=lowest)
    return torch.where(live, finite, -torch.inf), live, steps


def suffix_argmax(scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[N, T] -> for each t < length, the smallest k >= t with the highest score in [t, length).

    A step k is a *record* when no later step scores higher; the answer for t is the nearest
    record at or after t (every step between t and it scores lower than it).
    """
    masked, live, steps = _prepared_scores(scores, lengths)
    suffix_max = torch.cummax(masked.flip(-1), dim=-1).values.flip(-1)
    record = (masked == suffix_max) & live
    record_at = torch.where(record, steps, scores.shape[1])
    return torch.cummin(record_at.flip(-1), dim=-1).values.flip(-1).clamp(max=scores.shape[1] - 1)


def _suffix_topk(scores: torch.Tensor, top_k: int, carry: tuple[torch.Tensor, torch.Tensor]
                 | None = None, offset: int = 0) -> tuple[torch.Tensor, ...]:
    """Top K over every suffix of `scores` [N, T] (steps offset .. offset + T - 1), given the
    carried top K (values, indices) of the steps after them; also returns the new carry."""
    n, length = scores.shape
    indices = torch.empty(n, length, top_k, dtype=torch.long, device=scores.device)
    values = torch.empty(n, length, top_k, device=scores.device)
    if carry is None:
        carry = (torch.full((n, top_k), -torch.inf, device=scores.device),
                 torch.full((n, top_k), offset + length, dtype=torch.long, device=scores.device))
    carry_v, carry_i = carry
    for start in range(((length - 1) // _BLOCK) * _BLOCK, -1, -_BLOCK):
        block = scores[:, start:start + _BLOCK]
        size = block.shape[1]
        later = torch.triu(torch.ones(size, size, dtype=torch.bool, device=scores.device))
        # Row i: the block's steps j >= i, then the carried top K of the steps after the block.
        cand_v = torch.cat([torch.where(later, block.unsqueeze(1), -torch.inf),
                            carry_v.unsqueeze(1).expand(n, size, top_k)], dim=-1)
        block_i = torch.arange(offset + start, offset + start + size, device=scores.device)
        cand_i = torch.cat([block_i.expand(n, size, size),
                            carry_i.unsqueeze(1).expand(n, size, top_k)], dim=-1)
        best_v, best_pos = torch.topk(cand_v, top_k, dim=-1)
        values[:, start:start + size] = best_v
        indices[:, start:start + size] = cand_i.gather(-1, best_pos)
        carry_v, carry_i = best_v[:, 0], indices[:, start]
    return values, indices, (carry_v, carry_i)


def _suffix_argmax_chunk(scores: torch.Tensor, offset: int,
                         carry: tuple[torch.Tensor, torch.Tensor] | None
                         ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """`suffix_argmax` of steps offset .. offset + T - 1 of one episode (all live) given the
    best (value, smallest index) of the steps after them, appended as one more candidate."""
    steps = torch.arange(offset, offset + len(scores), device=scores.device)
    if carry is not None:
        scores, steps = torch.cat([scores, carry[0]]), torch.cat([steps, carry[1]])
    suffix_max = torch.cummax(scores.flip(-1), dim=-1).values.flip(-1)
    record_at = torch.where(scores == suffix_max, steps, torch.iinfo(torch.long).max)
    nearest = torch.cummin(record_at.flip(-1), dim=-1).values.flip(-1)
    return nearest[:len(nearest) - (carry is not None)], (suffix_max[:1], nearest[:1])


def stream_targets(scores: torch.Tensor, top_k: int = 1, sweep_steps: int = 4096,
                   horizon: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-K part of U_t for one whole episode, with temporaries bounded by `sweep_steps`.

    scores [T] -> (indices [T, K] long, valid [T, K] bool), equal to `select_targets` of the
    episode padded to `horizon` steps in a batch, with `include_self=False` (invalid entries
    point at t itself). Sweeps `sweep_steps`-step parts from the end carrying the top K of
    everything after them. For K > 1 the episode's last 64-step block is padded as in that
    batch: `torch.topk` breaks ties between equal scores differently when a row holds more
    -inf padding, and the targets must not depend on how they were computed.
    """
    if top_k < 1 or sweep_steps % _BLOCK:
        raise ValueError(f"top_k must be >= 1 and sweep_steps a multiple of {_BLOCK}")
    length = len(scores)
    padded = length if top_k == 1 else min(((length - 1) // _BLOCK + 1) * _BLOCK,
                                           max(horizon or length, length))
    lowest = torch.finfo(torch.float32).min
    indices = torch.empty(length, top_k, dtype=torch.long, device=scores.device)
    valid = torch.ones(length, top_k, dtype=torch.bool, device=scores.device)
    carry = None
    for start in range(((padded - 1) // sweep_steps) * sweep_steps, -1, -sweep_steps):
        part = slice(start, min(start + sweep_steps, length))
        masked = torch.nan_to_num(scores[part].float(), nan=-torch.inf).clamp(min=lowest)
        if top_k == 1:
            indices[part, 0], carry = _suffix_argmax_chunk(masked, start, carry)
            continue
        pad = min(start + sweep_steps, padded) - part.stop
        masked = torch.cat([masked, masked.new_full((pad,), -torch.inf)])
        values, found, carry = _suffix_topk(masked.unsqueeze(0), top_k,
                                            None if carry is None else
                                            (carry[0].unsqueeze(0), carry[1].unsqueeze(0)),
                                            offset=start)
        carry = (carry[0][0], carry[1][0])
        real = part.stop - start
        valid[part] = values[0, :real] > -torch.inf
        own = torch.arange(start, part.stop, device=scores.device).unsqueeze(-1)
        indices[part] = torch.where(valid[part], found[0, :real], own)
    return indices, valid


def with_self(indices: torch.Tensor, valid: torch.Tensor, steps: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Appends t itself to U_t ([..., K] indices/valid of steps `steps` [...]); it is invalid
    where t is already among the top K, so that U_t is a set."""
    own = steps.unsqueeze(-1).expand(*indices.shape[:-1], 1)
    duplicate = ((indices == own) & valid).any(dim=-1, keepdim=True)
    return torch.cat([indices, own], dim=-1), torch.cat([valid, ~duplicate], dim=-1)


def select_targets(
    scores: torch.Tensor, lengths: torch.Tensor, top_k: int = 1, include_self: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """U_t for every step of N padded episodes.

    scores [N, T] (any value past an episode's length is ignored), lengths [N] ->
    (indices [N, T, K + include_self] long, valid [N, T, K + include_self] bool). The last column
    is t itself when `include_self`; it is marked invalid where t is already among the top K,
    so that U_t is a set. Entries for t >= length, or beyond the steps left, are invalid.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    masked, live, steps = _prepared_scores(scores, lengths)
    n, length = scores.shape
    if top_k == 1:
        indices = suffix_argmax(scores, lengths).unsqueeze(-1)
        valid = live.unsqueeze(-1)
    else:
        values, indices, _ = _suffix_topk(masked, top_k)
        valid = (values > -torch.inf) & live.unsqueeze(-1)
    indices = torch.where(valid, indices, steps.view(1, length, 1).expand_as(indices))
    if include_self:
        indices, valid = with_self(indices, valid, steps.expand(n, length))
        valid[..., -1] &= live
    return indices, valid


def selection_scores(kind: str, detector_scores: Callable[[], torch.Tensor], shape: torch.Size,
                     device: torch.device, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Scores whose suffix top K picks U_t by `kind` (the detector's worth, tested by switch):

    - "detector": the detector's uncertainty (MemUP);
    - "uniform": i.i.d. noise, so the top K after t is a uniformly random K-subset of the
      steps left (the argmax of i.i.d. values is uniform over them);
    - "last": the step index, so U_t is the episode's last K steps.
    """
    if kind == "detector":
        return detector_scores()
    if kind == "uniform":
        return torch.rand(shape, generator=generator).to(device)
    if kind == "last":
        return torch.arange(shape[-1], device=device, dtype=torch.float32).expand(shape)
    raise ValueError(f"target_selection must be one of {TARGET_SELECTIONS}, got {kind!r}")
