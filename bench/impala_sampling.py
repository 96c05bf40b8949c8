"""Phase-II sampling speed against a plain loop of the same module (docs/design.md §13, issue #12).

Every junction is L sequential steps away, so phase II is bounded by the time of one sampling
step. In one run, at the same number of mazes and 1 torch thread, this measures:

- `loop`: a plain loop of the same `MemUPPolicyModule` (memory single step, policy head,
  sampled actions) over the numpy vector T-Maze with its agent inputs, no RLlib;
- `sample`: RLlib IMPALA's local EnvRunner, `env_runner.sample()` (new API stack: connectors,
  episodes, the module's `forward_exploration`);
- `train`: whole `algo.train()` iterations (sampling + learning), EnvRunner in the driver;

and reports `sample` and `train` as ratios to `loop`. The goal of issue #12 is >= 0.5 for
`sample`, of issue #25 for `train`. The three are measured in interleaved rounds, so other load
on the machine touches them alike. The EnvRunner is the batched one
(learner.impala.inputs.batched_runner) with the lean connectors (learner.impala.inputs.connectors)
and the default learner placement (`impala.num_learners` "auto": a learner actor on the free
core); `--compare-default` adds rows with RLlib's `SingleAgentEnvRunner` instead, then also the
learner on a thread of the driver (the default before issue #25), then RLlib's default
connector pipelines as well (the path before issue #12).

    python -m bench.impala_sampling [--mazes 64 1024] [--length 1000] [--seconds 10]
                                    [--rounds 5] [--compare-default]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

from bench.common import write_result
from envs import EnvSpec, make_vector_env, tmaze_spec
from envs.agent_inputs import PrevActionRewardVector
from learner.impala import ImpalaConfig, module_settings
from learner.impala.algo_config import build_impala_config
from memup_module import Memory, MemoryConfig, save_memory


class PlainLoop:
    """The module stepping `mazes` mazes with sampled actions, nothing else; `run` resumes it."""

    def __init__(self, module, tmaze: EnvSpec, mazes: int) -> None:
        self.env = PrevActionRewardVector(make_vector_env(tmaze, mazes))
        self.x, _ = self.env.reset(seed=0)
        self.memory, self.head, self.mazes = module.memory, module.policy_head, mazes
        self.state = self.memory.initial_state(mazes, torch.device("cpu"))
        self.generator = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def run(self, seconds: float) -> np.ndarray:
        """[env steps, seconds] of stepping for about `seconds`."""
        obs_dim = self.memory.config.obs_dim
        x, state = self.x, self.state
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            inputs = torch.as_tensor(x)[:, None, :]
            m, state = self.memory(inputs, state)
            logits = self.head(torch.cat([m, inputs[..., :obs_dim]], dim=-1))[:, 0]
            actions = torch.multinomial(torch.softmax(logits, -1), 1,
                                        generator=self.generator)[:, 0]
            x, _, terminated, _, _ = self.env.step(actions.numpy())
            # Next-step autoreset: a finished maze starts again from a zero state.
            if terminated.any():
                done = torch.as_tensor(terminated)
                state = tuple(part.masked_fill(done[:, None], 0.0) for part in state)
            steps += self.mazes
        self.x, self.state = x, state
        return np.array([steps, time.perf_counter() - start])


def _sampled(result: dict) -> int:
    """Env steps sampled in this iteration (`algo.train()` call)."""
    return int(result.get("env_runners", {}).get("num_env_steps_sampled", 0))


def _timed(work, seconds: float) -> np.ndarray:
    """[items, seconds] of calling `work` (which returns its items) for about `seconds`."""
    items, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        items += work()
    return np.array([items, time.perf_counter() - start])


def measure(mazes: int, length: int, seconds: float, rounds: int, memory: Path,
            lean: bool, learners: str | int = "auto", batched: bool = True) -> dict:
    """Loop, `sample` and `train` rates, interleaved in `rounds` rounds of seconds / rounds
    each, so load from other processes touches all three alike."""
    tmaze = tmaze_spec(length)
    impala = ImpalaConfig(num_env_runners=0, num_envs_per_env_runner=mazes,
                          rollout_fragment_length=64,
                          train_batch_size_per_learner=max(4096, 64 * mazes),
                          minibatch_size=max(1024, 16 * mazes), num_threads=1,
                          num_learners=learners, batched_env_runner=batched)
    torch.set_num_threads(1)
    model_config = module_settings(impala, memory_path=memory, baseline=False)
    algo = build_impala_config(tmaze, impala, model_config, lean_connectors=lean,
                               free_cpus=ray.available_resources().get("CPU", 0.0)).build_algo()
    placement = "driver thread" if algo.learner_group.is_local else "actor"
    totals = {name: np.zeros(2) for name in ("loop", "sample", "train")}  # steps, seconds
    try:
        runner = algo.env_runner
        loop = PlainLoop(runner.module, tmaze, mazes)
        runner.sample()  # warm-up: connectors, first episodes
        algo.train()

        share = seconds / rounds
        for _ in range(rounds):
            totals["loop"] += loop.run(share)
            totals["sample"] += _timed(lambda: sum(map(len, runner.sample())), share)
            runner.get_metrics()  # so that the next `algo.train()` reports only its own steps
            totals["train"] += _timed(lambda: _sampled(algo.train()), share)
    finally:
        algo.stop()
    rate = {name: float(steps / spent) for name, (steps, spent) in totals.items()}
    return {"mazes": mazes, "corridor_length": length,
            "connectors": "lean" if lean else "rllib-default",
            "env_runner": "batched" if batched and lean else "rllib",
            "learner": placement,
            "loop_env_steps_per_s": round(rate["loop"]),
            "rllib_sample_env_steps_per_s": round(rate["sample"]),
            "rllib_train_env_steps_per_s": round(rate["train"]),
            "sample_ratio_to_loop": round(rate["sample"] / rate["loop"], 3),
            "train_ratio_to_loop": round(rate["train"] / rate["loop"], 3),
            "impala_config": dataclasses.asdict(impala)}


def run(mazes: list[int], length: int, seconds: float, rounds: int,
        compare_default: bool) -> dict:
    rows, load = [], list(np.round(_loadavg(), 2))
    with tempfile.TemporaryDirectory() as scratch:
        memory = Path(scratch) / "memory.pt"
        save_memory(memory, Memory(MemoryConfig()))  # LSTM-256: speed does not need training
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        try:
            for count in mazes:
                # (lean connectors, learners, batched EnvRunner): today's default first, then
                # the paths it replaced, one at a time.
                variants = ([(True, "auto", True), (True, "auto", False), (True, 0, False),
                             (False, 0, False)] if compare_default else [(True, "auto", True)])
                for lean, learners, batched in variants:
                    rows.append(measure(count, length, seconds, rounds, memory, lean, learners,
                                        batched))
                    print(rows[-1], flush=True)
        finally:
            ray.shutdown()
    return {"goal": "sample_ratio_to_loop (#12) and train_ratio_to_loop (#25) >= 0.5 at the "
                    "same number of mazes",
            "rows": rows, "load_average_at_start": load}


def _loadavg() -> tuple[float, ...]:
    import os

    return os.getloadavg()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mazes", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="per rate (loop, sample, train), split over the rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare-default", action="store_true",
                        help="also measure RLlib's own EnvRunner, the learner on the "
                             "driver's thread, and RLlib's default EnvRunner connectors (the "
                             "old paths)")
    args = parser.parse_args()
    print(write_result("impala_sampling", run(args.mazes, args.length, args.seconds,
                                              args.rounds, args.compare_default)))
