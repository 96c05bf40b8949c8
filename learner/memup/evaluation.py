"""Held-out evaluation of phase I (docs/design.md §6, §11): does the memory predict what the local
context cannot?

The held-out episodes come from `generate_episodes` with a fixed seed, never from the store.
The memory runs over each whole episode from a zero state (in time chunks, so memory stays flat
in T). For any env, at each episode's top-K most uncertain steps k (by the detector), the
predictor's accuracy and NLL of f_k from m_k, c_k are set against the detector's from c_k
alone: the *memory gain*; other envs than the T-Maze also get it over every step and at each
episode's last step. The T-Maze adds `junction_accuracy`: f_{T-1} from m_{T-1}, c_{T-1}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch

from learner.memup.config import MemUPConfig
from learner.memup.inputs.episodes import EpisodeLike, GeneratedEpisode, generate_episodes
from learner.memup.inputs.prepared import EpisodeBatch, pad_episodes, prepare_episode
from memup_module import (
    Detector,
    EmaModel,
    Memory,
    Predictor,
    TargetCodec,
    masked_nll,
    nll_per_entry,
    score_episodes,
)

EVAL_TIME_CHUNK = 256
TRACE_CANDIDATES = 64

__all__ = ["HeldOutSet", "detector_trace", "evaluate", "generate_episodes", "GeneratedEpisode",
           "memory_at", "memory_gain"]


@dataclasses.dataclass(frozen=True)
class HeldOutSet:
    """Fixed evaluation episodes as one padded batch, plus the true class at each last step."""

    batch: EpisodeBatch
    last_classes: torch.Tensor  # [N]: f at each last step (the T-Maze: its junction)

    @classmethod
    def build(cls, episodes: Sequence[EpisodeLike], config: MemUPConfig, codec: TargetCodec,
              device: torch.device) -> HeldOutSet:
        batch = pad_episodes([prepare_episode(e, config, codec) for e in episodes], device)
        last = (batch.lengths - 1).unsqueeze(1)
        return cls(batch, batch.classes.gather(1, last).squeeze(1))

    @property
    def num_episodes(self) -> int:
        return len(self.last_classes)

    def head(self, n: int) -> HeldOutSet:
        """The first `n` episodes (a cheaper screening set)."""
        if n >= self.num_episodes:
            return self
        b = self.batch
        steps = int(b.lengths[:n].max())
        part = EpisodeBatch(b.x[:n, :steps], b.context[:n, :steps], b.values[:n, :steps],
                            b.classes[:n, :steps], b.lengths[:n])
        return HeldOutSet(part, self.last_classes[:n])


@torch.no_grad()
def memory_at(memory: Memory, batch: EpisodeBatch, steps: torch.Tensor,
              each_chunk: Callable[[int, int, torch.Tensor], None] | None = None
              ) -> torch.Tensor:
    """m_k [N, K, H] at the steps `steps` [N, K] of every episode, in time chunks; with
    `each_chunk`, also calls it with (start, stop, m of steps start .. stop - 1)."""
    picked = torch.zeros(*steps.shape, memory.hidden_size, device=batch.x.device)
    state = None
    for start in range(0, batch.num_steps, EVAL_TIME_CHUNK):
        stop = min(start + EVAL_TIME_CHUNK, batch.num_steps)
        m, state = memory(batch.x[:, start:stop], state)
        rows, cols = ((steps >= start) & (steps < stop)).nonzero(as_tuple=True)
        picked[rows, cols] = m[rows, steps[rows, cols] - start].float()
        if each_chunk is not None:
            each_chunk(start, stop, m)
    return picked


class _AllStepsNll:
    """Summed NLL of every step's own f_t, predictor (m_t, c_t) vs detector (c_t): a gain over
    all steps, less noisy than the top-K one where every step depends on the past a little
    (POPGym's CountRecall) and the top K change with the detector."""

    def __init__(self, predictor: Predictor, detector: Detector, batch: EpisodeBatch) -> None:
        self.predictor, self.detector, self.batch = predictor, detector, batch
        self.memory_total = self.context_total = 0.0

    def __call__(self, start: int, stop: int, m: torch.Tensor) -> None:
        b = self.batch
        valid = torch.arange(start, stop, device=m.device).unsqueeze(0) < b.lengths.unsqueeze(1)
        context, classes = b.context[:, start:stop], b.classes[:, start:stop]
        with_memory = self.predictor(m.float(), context.unsqueeze(-2)).squeeze(-2)
        self.memory_total += nll_per_entry(with_memory, classes, valid).sum().item()
        self.context_total += nll_per_entry(self.detector(context), classes, valid).sum().item()

    def gain(self) -> float:
        return (self.context_total - self.memory_total) / int(self.batch.lengths.sum())


def _scores(detector: Detector, batch: EpisodeBatch, config: MemUPConfig,
            class_values: torch.Tensor, ema: EmaModel | None) -> torch.Tensor:
    """[N, T] uncertainty scores, -inf on padding."""
    scores = score_episodes(config.detector_score, detector, batch.context, batch.classes,
                            batch.values, batch.x, class_values, ema)
    steps = torch.arange(batch.num_steps, device=scores.device)
    return scores.masked_fill(steps.unsqueeze(0) >= batch.lengths.unsqueeze(1), -torch.inf)


@torch.no_grad()
def uncertain_steps(scores: torch.Tensor, batch: EpisodeBatch, top_k: int) -> torch.Tensor:
    """[N, K]: each episode's top-K scored steps (padding scores -inf, never picked)."""
    return scores.topk(min(top_k, int(batch.lengths.min())), dim=1).indices


@torch.no_grad()
def memory_gain(predictor: Predictor, detector: Detector, batch: EpisodeBatch,
                steps: torch.Tensor, m: torch.Tensor) -> dict[str, float]:
    """At the uncertain `steps` [N, K] of each episode, with the memory there `m` [N, K, H]:
    predictor (memory) vs detector (context)."""
    rows = torch.arange(len(steps), device=steps.device).unsqueeze(1)
    context = batch.context[rows, steps]  # [N, K, F]
    truth = batch.classes[rows, steps]  # [N, K]
    with_memory = predictor(m.reshape(-1, m.shape[-1]),
                            context.reshape(-1, 1, context.shape[-1])).squeeze(1).float()
    local = detector(context.reshape(-1, context.shape[-1])).float()
    truth = truth.reshape(-1)
    always = torch.ones_like(truth, dtype=torch.bool)
    memory_nll = masked_nll(with_memory, truth, always).item()
    local_nll = masked_nll(local, truth, always).item()
    memory_acc = (with_memory.argmax(-1) == truth).float().mean().item()
    local_acc = (local.argmax(-1) == truth).float().mean().item()
    return {
        "memup/uncertain_accuracy": memory_acc,
        "memup/uncertain_nll": memory_nll,
        "memup/context_accuracy": local_acc,
        "memup/context_nll": local_nll,
        "memup/memory_gain_nll": local_nll - memory_nll,
        "memup/memory_gain_accuracy": memory_acc - local_acc,
    }


@torch.no_grad()
def _detector_loss(detector: Detector, batch: EpisodeBatch) -> torch.Tensor:
    steps = torch.arange(batch.num_steps, device=batch.x.device)
    total = torch.zeros((), device=batch.x.device)
    for start in range(0, batch.num_steps, EVAL_TIME_CHUNK):
        part = slice(start, start + EVAL_TIME_CHUNK)
        valid = steps[part].unsqueeze(0) < batch.lengths.unsqueeze(1)
        total += nll_per_entry(detector(batch.context[:, part]), batch.classes[:, part],
                               valid).sum()
    return total / batch.lengths.sum()


@torch.no_grad()
def evaluate(
    memory: Memory,
    predictor: Predictor,
    detector: Detector,
    held_out: HeldOutSet,
    config: MemUPConfig,
    class_values: torch.Tensor,
    ema: EmaModel | None = None,
    *,
    junction: bool = True,
) -> dict[str, float]:
    """The memory gain and held-out losses (`memup/` keys); with `junction` (the T-Maze, whose
    only past-dependent step is the last) also junction_accuracy and the detector's hit rate,
    without it the gains over all steps and at the last step."""
    batch = held_out.batch
    scores = _scores(detector, batch, config, class_values, ema)
    uncertain = uncertain_steps(scores, batch, config.top_k)
    last = batch.lengths - 1
    # One pass of the memory over the episodes gives m at the uncertain steps and the last
    # one, and for any other env than the T-Maze (short episodes) every step's NLL too.
    all_steps = None if junction else _AllStepsNll(predictor, detector, batch)
    at = memory_at(memory, batch, torch.cat([uncertain, last.unsqueeze(1)], 1), all_steps)
    metrics = {
        **memory_gain(predictor, detector, batch, uncertain, at[:, :uncertain.shape[1]]),
        "memup/eval_detector_loss": _detector_loss(detector, batch).item(),
        "memup/eval_episodes": held_out.num_episodes,
    }
    final = at[:, -1]
    rows = torch.arange(held_out.num_episodes, device=final.device)
    last_context = batch.context[rows, last].unsqueeze(1)
    logits = predictor(final, last_context).squeeze(1).float()
    truth = held_out.last_classes
    always = torch.ones_like(truth, dtype=torch.bool)
    last_nll = masked_nll(logits, truth, always).item()
    if all_steps is not None:
        # The last step is where an episode's outcome tends to sit (MiniGrid's choice of
        # object): there the gain is not diluted by the steps that need no memory.
        local_nll = masked_nll(detector(last_context.squeeze(1)).float(), truth, always).item()
        return {**metrics, "memup/all_steps_gain_nll": all_steps.gain(),
                "memup/last_step_gain_nll": local_nll - last_nll}
    return {
        **metrics,
        "memup/junction_accuracy": (logits.argmax(-1) == truth).float().mean().item(),
        "memup/eval_junction_loss": last_nll,
        "memup/detector_hit_rate": (scores.argmax(-1) == last).float().mean().item(),
        "memup/eval_junction_score": scores[rows, last].mean().item(),
    }


@torch.no_grad()
def detector_trace(detector: Detector, held_out: HeldOutSet, config: MemUPConfig,
                   class_values: torch.Tensor, ema: EmaModel | None = None,
                   index: int | None = None) -> dict:
    """The uncertainty score of every step of one held-out episode (for plots): {"scores":
    [...], "junction": T-1, "score": the score's name, "targets": f_t, "episode": its index}.
    Without `index`, the episode with the highest score of the first TRACE_CANDIDATES: where
    random episodes can time out before the reward (a third of MiniGrid's), the first one may
    have no uncertain step at all."""
    b = held_out.batch
    if index is None:
        candidates = held_out.head(TRACE_CANDIDATES).batch
        scores = _scores(detector, candidates, config, class_values, ema)
        index = int(scores.max(dim=1).values.argmax())
    length = int(b.lengths[index])
    row = slice(index, index + 1)
    scores = score_episodes(config.detector_score, detector, b.context[row, :length],
                            b.classes[row, :length], b.values[row, :length], b.x[row, :length],
                            class_values, ema)
    return {"scores": scores[0].float().tolist(), "junction": length - 1,
            "score": config.detector_score,
            "targets": b.values[index, :length].float().tolist(), "episode": index}
