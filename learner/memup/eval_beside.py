"""Evaluation beside training (`memup.eval_beside_training`, docs/design.md §11).

    beside = SnapshotEvaluation(lambda nets: trainer.evaluate_networks(nets, target))
    for step, metrics, snapshot in round_evaluations(trainer, beside, target, final=False):
        ...                        # the evaluation of the snapshot taken one round earlier

At T-Maze-100 000 one held-out screen walks 16 episodes through 100 000 steps: about as long
as the 250 updates between two of them, on a core that sits idle while the trainer runs. Here
each round's networks are copied and evaluated on a second thread while the trainer goes on
(torch releases the GIL inside its kernels, so the two run on two cores). A round's decision
then reads the evaluation of the previous round's snapshot: the same evaluations of the same
networks at the same steps as evaluating in line, one round later. When a snapshot reaches the
target the trainer returns to it, so the memory it exports is the one that was evaluated.
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Protocol

from torch import nn

Metrics = dict[str, float]


@dataclasses.dataclass(frozen=True)
class Networks:
    """What an evaluation reads: memory, predictor, detector (and the EMA copy, if scored)."""

    memory: nn.Module
    predictor: nn.Module
    detector: nn.Module
    ema: nn.Module | None

    def load_from(self, other: Networks) -> None:
        """Copies `other`'s weights into these networks."""
        for name in ("memory", "predictor", "detector", "ema"):
            if getattr(self, name) is not None:
                getattr(self, name).load_state_dict(getattr(other, name).state_dict())


class Evaluating(Protocol):
    step: int

    def networks(self) -> Networks: ...

    def evaluate_networks(self, networks: Networks, target: float) -> Metrics: ...


class SnapshotEvaluation:
    """One snapshot at a time, evaluated on a thread of its own."""

    def __init__(self, evaluate: Callable[[Networks], Metrics]) -> None:
        self._evaluate = evaluate
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="memup-eval")
        self._pending: tuple[int, Networks, concurrent.futures.Future[Metrics]] | None = None

    def submit(self, step: int, networks: Networks) -> None:
        """Starts evaluating a copy of `networks` (taken at update `step`)."""
        snapshot = copy.deepcopy(networks)
        self._pending = (step, snapshot, self._pool.submit(self._evaluate, snapshot))

    def result(self) -> tuple[int, Metrics, Networks] | None:
        """The pending evaluation (waits for it), or None when nothing is pending."""
        if self._pending is None:
            return None
        step, snapshot, future = self._pending
        self._pending = None
        return step, {**future.result(), "memup/step": step}, snapshot

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def round_evaluations(trainer: Evaluating, beside: SnapshotEvaluation | None, target: float,
                      final: bool) -> Iterator[tuple[int, Metrics, Networks | None]]:
    """(step, metrics, snapshot) of each evaluation this round decides on: in line, the
    trainer's own networks now (no snapshot); beside training, the previous round's snapshot,
    then (only if the caller goes on) this round's is submitted, and waited for when `final`."""
    if beside is None:
        yield trainer.step, trainer.evaluate_networks(trainer.networks(), target), None
        return
    previous = beside.result()
    if previous is not None:
        yield previous
    beside.submit(trainer.step, trainer.networks())
    if final:
        last = beside.result()
        assert last is not None
        yield last
