"""Can the memory learn a task's rewards at all? A probe outside MemUP's loop.

It trains the project's own `Memory` and `Predictor` (the preset's sizes) on random-policy
episodes that the env generates, with the plainest objective: every step's own target f_t from
m_t and c_t, truncated BPTT over `rollout` steps, one Adam step per batch of whole episodes.
A context-only predictor trains beside it. The held-out gain (its NLL minus the memory's, over
every step of fresh episodes) says whether the task is within the memory's reach from such
data. If the probe gets there and MemUP's phase I does not, the obstacle is MemUP's loop or
target set on that task, not the memory or the data. (POPGym CountRecall Easy: the probe
reaches 0.07 nats in 2 500 steps; phase I stayed at 0 over 10 000 updates.)

    BENCH_TASK=popgym-count-recall-easy python -m bench.self_target_probe
    BENCH_FUTURE_TARGETS=4 python -m bench.self_target_probe   # plus 4 future targets per step

Results: bench/results/self_target_probe.json (one row per task and BENCH_FUTURE_TARGETS).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from bench.common import read_rows, write_result

ROOT = Path(__file__).resolve().parent.parent


def episode_batch(config, episodes: int, seed: int):
    from learner.memup.inputs.episodes import generate_episodes
    from learner.memup.inputs.prepared import pad_episodes, prepare_episode
    from memup_module.targets import make_codec, rewards_seen

    generated = generate_episodes(config.env, episodes, seed)
    codec = make_codec(config.memup, tuple(sorted(rewards_seen(generated))))
    prepared = [prepare_episode(e, config.memup, codec) for e in generated]
    return pad_episodes(prepared, torch.device("cpu")), codec.num_classes


def step_nll(memory, predictor, context_only, batch, rollout: int, future_targets: int = 0,
             ) -> tuple[torch.Tensor, ...]:
    """(memory NLL, context-only NLL), each a mean over every valid step of `batch`. With
    `future_targets`, the memory NLL also covers that many steps k drawn uniformly from each
    step's remaining episode, predicted from m_t and c_k by the same predictor, as phase I's
    U_t are."""
    from memup_module.losses import masked_nll

    valid = torch.arange(batch.num_steps).unsqueeze(0) < batch.lengths.unsqueeze(1)
    outputs, state = [], None
    for start in range(0, batch.num_steps, rollout):
        m, state = memory(batch.x[:, start:start + rollout], state)
        state = tuple(part.detach() for part in state)
        outputs.append(m)
    m = torch.cat(outputs, dim=1)
    with_memory = predictor(m, batch.context.unsqueeze(-2)).squeeze(-2)
    memory_nll = masked_nll(with_memory, batch.classes, valid)
    if future_targets:
        steps = torch.arange(batch.num_steps).view(1, -1, 1)
        remaining = (batch.lengths.view(-1, 1, 1) - steps).clamp(min=1)
        k = steps + (torch.rand(*valid.shape, future_targets) * remaining).long()
        rows = torch.arange(len(k)).view(-1, 1, 1)
        future = predictor(m, batch.context[rows, k])
        future_valid = valid.unsqueeze(-1).expand_as(k)
        memory_nll = (memory_nll + future_targets * masked_nll(
            future, batch.classes[rows, k], future_valid)) / (1 + future_targets)
    return memory_nll, masked_nll(context_only(batch.context), batch.classes, valid)


def probe(task: str, steps: int, pool: int, batch_size: int, rollout: int,
          future_targets: int = 0) -> dict:
    from app.config import load_config
    from memup_module.memory import Memory
    from memup_module.networks import Detector, Predictor

    torch.manual_seed(0)
    config = load_config(ROOT / "configs" / f"{task}.yaml")
    model = config.memup
    train, classes = episode_batch(config, pool, seed=1)
    held_out, _ = episode_batch(config, 256, seed=2)
    memory = Memory(model.memory)
    predictor = Predictor(model.memory, model.context_size, model.predictor_hidden, classes)
    context_only = Detector(model.memory, model.context_size, model.detector_hidden, classes)
    parameters = [*memory.parameters(), *predictor.parameters(), *context_only.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=model.lr)
    curve, start = {}, time.perf_counter()
    for step in range(steps + 1):
        if step % 250 == 0:
            with torch.no_grad():
                memory_nll, context_nll = step_nll(memory, predictor, context_only, held_out,
                                                   rollout)
            curve[str(step)] = float(context_nll - memory_nll)
            held_out_context_nll = float(context_nll)
            print(f"{task} step {step}: held-out gain {curve[str(step)]:.4f} nats "
                  f"(context-only NLL {float(context_nll):.4f})", flush=True)
        rows = torch.randint(len(train.lengths), (batch_size,))
        batch = type(train)(train.x[rows], train.context[rows], train.values[rows],
                            train.classes[rows], train.lengths[rows])
        memory_nll, context_nll = step_nll(memory, predictor, context_only, batch, rollout,
                                           future_targets)
        optimizer.zero_grad()
        (memory_nll + context_nll).backward()
        nn.utils.clip_grad_norm_(parameters, model.grad_clip)
        optimizer.step()
    return {"task": task, "steps": steps, "pool_episodes": pool, "batch_episodes": batch_size,
            "rollout": rollout, "future_targets": future_targets,
            "held_out_gain_by_step": curve,
            "final_held_out_gain_nll": curve[str(steps - steps % 250)],
            "held_out_context_only_nll": held_out_context_nll,
            "wall_s": time.perf_counter() - start}


def main() -> int:
    torch.set_num_threads(1)
    task = os.environ.get("BENCH_TASK", "popgym-count-recall-easy")
    future_targets = int(os.environ.get("BENCH_FUTURE_TARGETS", "0"))
    row = probe(task, steps=int(os.environ.get("BENCH_STEPS", "2500")), pool=2048,
                batch_size=64, rollout=8, future_targets=future_targets)
    rows = [r for r in read_rows("self_target_probe") if (r["task"], r.get("future_targets", 0)) !=
            (task, future_targets)] + [row]
    write_result("self_target_probe", {"rows": rows})
    print(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
