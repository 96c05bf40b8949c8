"""The held-out evaluation rounds of a phase-II run: in line, or beside training.

    rounds = BesideRounds(env, impala) if beside else InLineRounds(env, impala)
    rounds.start(module, env_steps, whole_set=False)     # the learner's weights, copied in
    finished = rounds.poll()                             # None while it runs
    finished.greedy.success_rate, finished.module        # the weights it evaluated

A round screens `eval_screen_episodes` of the held-out episodes and runs the rest only once
those reach the target; the two parts merge into the figures of the whole set (the screened
episodes are not run twice).

In line, `start` evaluates before it returns. Beside training (`impala.eval_beside_training`,
an env with a junction cue only), the weights are saved to a scratch directory and the
streamed evaluator runs them in a worker process (`workers.start_worker`) while `algo.train()`
goes on: on one machine the driver samples and learns on one core, and a round at
T-Maze-100 000 (16 episodes walked through 100 000 steps, ~30 s) then takes the other instead
of stopping training. Its figures arrive some iterations later, with the env steps at which
its weights were taken; the weights a round found good are the ones the run saves.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from ray.rllib.core.rl_module.rl_module import RLModule

from envs import EnvSpec
from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.held_out import (
    GreedyResult,
    greedy_evaluate,
    held_out_seeds,
    sampled_evaluate,
)
from learner.impala.evaluation.streaming import stream_evaluate
from learner.impala.evaluation.workers import (
    finish_worker,
    merge_parts,
    start_worker,
    usable_cores,
)


@dataclasses.dataclass(frozen=True)
class Round:
    """One finished evaluation round."""

    env_steps: int
    """Env steps trained when its weights were taken."""
    greedy: GreedyResult
    sampled: GreedyResult | None
    module: RLModule
    """The weights it evaluated."""
    waited_s: float
    """Time training stood still for it."""


def merge(first: GreedyResult, rest: GreedyResult) -> GreedyResult:
    """Two evaluations of disjoint episode sets as one of their union."""
    episodes = first.episodes + rest.episodes
    mean = lambda a, b: (a * first.episodes + b * rest.episodes) / episodes  # noqa: E731
    return GreedyResult(mean(first.success_rate, rest.success_rate),
                        mean(first.mean_return, rest.mean_return), episodes,
                        first.env_steps + rest.env_steps)


def _stages(env: EnvSpec, impala: ImpalaConfig, whole_set: bool) -> list[np.ndarray]:
    """The held-out seeds a round runs: screen, then the rest; or all at once."""
    seeds = held_out_seeds(impala.eval_seed, impala.held_out_episodes)
    screen = impala.eval_screen_episodes
    if env.junction_cue and not whole_set and 0 < screen < len(seeds):
        return [seeds[:screen], seeds[screen:]]
    return [seeds]


def _passed(result: GreedyResult, impala: ImpalaConfig) -> bool:
    return result.success_rate >= impala.target_success


class InLineRounds:
    """Each round evaluated by the caller's process, before `start` returns."""

    busy = confirming = False

    def __init__(self, env: EnvSpec, impala: ImpalaConfig) -> None:
        self.env, self.impala = env, impala
        self._finished: Round | None = None

    def start(self, module: RLModule, env_steps: int, whole_set: bool) -> None:
        began = time.perf_counter()
        greedy = None
        for seeds in _stages(self.env, self.impala, whole_set):
            part = (stream_evaluate(module, self.env, seeds).greedy if self.env.junction_cue
                    else greedy_evaluate(module, self.env, len(seeds), self.impala.eval_seed))
            greedy = part if greedy is None else merge(greedy, part)
            if not _passed(greedy, self.impala):
                break
        sampled = (sampled_evaluate(module, self.env, self.impala.held_out_episodes,
                                    self.impala.eval_seed) if self.impala.eval_sampled else None)
        self._finished = Round(env_steps, greedy, sampled, module,
                               time.perf_counter() - began)

    def poll(self) -> Round | None:
        finished, self._finished = self._finished, None
        return finished

    wait = poll

    def close(self) -> None:
        pass


class BesideRounds:
    """One round at a time in a worker process, while training goes on."""

    def __init__(self, env: EnvSpec, impala: ImpalaConfig) -> None:
        if not env.junction_cue:
            raise ValueError("impala.eval_beside_training runs the streamed evaluator, which "
                             f"needs an env with a junction cue (the T-Maze); {env.label} has "
                             "none: set it to false")
        self.env, self.impala = env, impala
        self._scratch = Path(tempfile.mkdtemp(prefix="memup-rounds-"))
        self._rounds = 0
        self._pending: _Pending | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None

    @property
    def confirming(self) -> bool:
        """The pending round's screen passed and the rest runs, a worker per core: the caller
        is to `wait` for it (training past weights about to be confirmed is work thrown away,
        and the rest needs the cores)."""
        return self._pending is not None and self._pending.confirming

    def start(self, module: RLModule, env_steps: int, whole_set: bool) -> None:
        if self._pending is not None:
            raise RuntimeError("a round is still running: poll() until it has finished")
        self._rounds += 1
        snapshot = copy.deepcopy(module)
        policy_dir = self._scratch / f"round-{self._rounds}"
        snapshot.save_to_path(policy_dir)
        self._pending = _Pending(env_steps, snapshot, policy_dir,
                                 _stages(self.env, self.impala, whole_set))
        self._pending.launch(self.env, workers=1)

    def poll(self) -> Round | None:
        """The finished round, if any (a passed screen starts the rest)."""
        pending = self._pending
        if pending is None or any(p.poll() is None for p in pending.processes):
            return None
        return self._advance()

    def wait(self) -> Round | None:
        """The pending round once it has finished (None when nothing is pending)."""
        began = time.perf_counter()
        while self._pending is not None:
            for process in self._pending.processes:
                process.wait()
            finished = self._advance()
            if finished is not None:
                return dataclasses.replace(finished, waited_s=time.perf_counter() - began)
        return None

    def _advance(self) -> Round | None:
        pending = self._pending
        part = merge_parts([finish_worker(process, files) for process, files
                            in zip(pending.processes, pending.files)], 0.0).greedy
        pending.result = part if pending.result is None else merge(pending.result, part)
        if pending.stages and _passed(pending.result, self.impala):
            pending.launch(self.env, workers=usable_cores())
            return None
        self._pending = None
        shutil.rmtree(pending.policy_dir, ignore_errors=True)
        return Round(pending.env_steps, pending.result, None, pending.module, 0.0)

    def close(self) -> None:
        for process in self._pending.processes if self._pending is not None else []:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(self._scratch, ignore_errors=True)


@dataclasses.dataclass
class _Pending:
    env_steps: int
    module: RLModule
    policy_dir: Path
    stages: list[np.ndarray]
    result: GreedyResult | None = None
    processes: list[subprocess.Popen] = dataclasses.field(default_factory=list)
    files: list[Path] = dataclasses.field(default_factory=list)

    @property
    def confirming(self) -> bool:
        return self.result is not None

    def launch(self, env: EnvSpec, workers: int) -> None:
        """Starts the next stage, its seeds split over `workers` processes."""
        shares = [seeds for seeds in np.array_split(self.stages.pop(0), workers) if len(seeds)]
        stage = len(self.stages)
        self.files = [self.policy_dir.parent / f"{self.policy_dir.name}-stage-{stage}-{i}"
                      for i in range(len(shares))]
        self.processes = [start_worker(self.policy_dir, env, seeds, files)
                          for seeds, files in zip(shares, self.files)]
