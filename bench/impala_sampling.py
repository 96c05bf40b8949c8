"""Phase-II sampling speed against a plain loop of the same module (DESIGN.md §13, issue #12).

Every junction is L sequential steps away, so phase II is bounded by the time of one sampling
step. In one run, at the same number of mazes and 1 torch thread, this measures:

- `loop`: a plain loop of the same `MemUPPolicyModule` (memory single step, policy head,
  sampled actions) over the numpy vector T-Maze with its agent inputs, no RLlib;
- `sample`: RLlib IMPALA's local EnvRunner, `env_runner.sample()` (new API stack: connectors,
  episodes, the module's `forward_exploration`);
- `train`: whole `algo.train()` iterations (sampling + learning), EnvRunner in the driver;

and reports `sample` and `train` as ratios to `loop`. The goal of issue #12 is >= 0.5.

    python -m bench.impala_sampling [--mazes 64 1024] [--length 1000] [--seconds 10]
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
from envs import TMazeConfig, make_vector_env
from envs.agent_inputs import PrevActionRewardVector
from learner.impala import ImpalaConfig, module_settings
from learner.impala.runner import build_impala_config
from memup_module import Memory, MemoryConfig, save_memory


@torch.no_grad()
def plain_loop(module, tmaze: TMazeConfig, mazes: int, seconds: float) -> float:
    """Env steps/s of the module stepping `mazes` mazes with sampled actions, nothing else."""
    env = PrevActionRewardVector(make_vector_env(tmaze, mazes))
    x, _ = env.reset(seed=0)
    memory, head = module.memory, module.policy_head
    obs_dim = memory.config.obs_dim
    state = memory.initial_state(mazes, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        inputs = torch.as_tensor(x)[:, None, :]
        m, state = memory(inputs, state)
        logits = head(torch.cat([m, inputs[..., :obs_dim]], dim=-1))[:, 0]
        actions = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]
        x, _, terminated, _, _ = env.step(actions.numpy())
        # Next-step autoreset: a finished maze starts again from a zero state.
        if terminated.any():
            done = torch.as_tensor(terminated)
            state = tuple(part.masked_fill(done[:, None], 0.0) for part in state)
        steps += mazes
    return steps / (time.perf_counter() - start)


def _sampled(result: dict) -> int:
    return int(result.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0))


def rllib_rates(tmaze: TMazeConfig, impala: ImpalaConfig, memory: Path,
                seconds: float) -> tuple[float, float, object]:
    """(EnvRunner.sample env steps/s, algo.train env steps/s, the RLlib module)."""
    model_config = module_settings(impala, memory_path=memory, baseline=False)
    algo = build_impala_config(tmaze, impala, model_config).build_algo()
    try:
        runner = algo.env_runner
        runner.sample()  # warm-up: connectors, first episodes
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            steps += sum(len(e) for e in runner.sample())
        sample_rate = steps / (time.perf_counter() - start)
        before = _sampled(algo.train())
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            after = _sampled(algo.train())
        train_rate = (after - before) / (time.perf_counter() - start)
        return sample_rate, train_rate, runner.module
    finally:
        algo.stop()


def measure(mazes: int, length: int, seconds: float, memory: Path) -> dict:
    tmaze = TMazeConfig(corridor_length=length)
    impala = ImpalaConfig(num_env_runners=0, num_envs_per_env_runner=mazes,
                          rollout_fragment_length=64,
                          train_batch_size_per_learner=max(4096, 64 * mazes),
                          minibatch_size=max(1024, 16 * mazes), num_threads=1)
    torch.set_num_threads(1)
    sample_rate, train_rate, module = rllib_rates(tmaze, impala, memory, seconds)
    loop_rate = plain_loop(module, tmaze, mazes, seconds)
    return {"mazes": mazes, "corridor_length": length,
            "loop_env_steps_per_s": round(loop_rate),
            "rllib_sample_env_steps_per_s": round(sample_rate),
            "rllib_train_env_steps_per_s": round(train_rate),
            "sample_ratio_to_loop": round(sample_rate / loop_rate, 3),
            "train_ratio_to_loop": round(train_rate / loop_rate, 3),
            "impala_config": dataclasses.asdict(impala)}


def run(mazes: list[int], length: int, seconds: float) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        memory = Path(scratch) / "memory.pt"
        save_memory(memory, Memory(MemoryConfig()))  # LSTM-256: speed does not need training
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        try:
            for count in mazes:
                rows.append(measure(count, length, seconds, memory))
                print(rows[-1], flush=True)
        finally:
            ray.shutdown()
    return {"goal": "sample_ratio_to_loop >= 0.5 at the same number of mazes",
            "rows": rows, "load_average_at_start": list(np.round(_loadavg(), 2))}


def _loadavg() -> tuple[float, ...]:
    import os

    return os.getloadavg()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mazes", type=int, nargs="+", default=[64, 1024])
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(write_result("impala_sampling", run(args.mazes, args.length, args.seconds)))
