"""Phase I's held-out figures of a run's saved checkpoint, over more episodes than the run used.

A run evaluates on `memup.eval_episodes` held-out episodes (200 on the POPGym presets), and on
tasks where every step depends on the past a little (POPGym CountRecall) its gain at the top-K
uncertain steps moves by ±0.03 nats from one evaluation to the next. This re-evaluates a saved
learner checkpoint on `BENCH_EPISODES` fresh episodes (seed `BENCH_SEED`, never the run's own),
with the same `evaluate` as the run, so two runs can be compared on their final networks:

    python -m bench.checkpoint_gain runs/<run>                  # its newest checkpoint
    BENCH_EPISODES=1024 python -m bench.checkpoint_gain runs/<run> runs/<run>/memup/checkpoints/ckpt-000010000.pt

Results: bench/results/checkpoint_gain.json (one row per checkpoint).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from bench.common import read_rows, write_result

ROOT = Path(__file__).resolve().parent.parent


def checkpoint_figures(run_root: Path, checkpoint: Path, episodes: int, seed: int) -> dict:
    from app.config import load_config
    from learner.memup.checkpoint import load_checkpoint
    from learner.memup.config import MemUPConfig
    from learner.memup.evaluation import HeldOutSet, evaluate, generate_episodes
    from memup_module import Detector, EmaModel, Memory, Predictor, codec_from_plain

    env = load_config(run_root / "config.yaml").env
    state = load_checkpoint(checkpoint)
    config = MemUPConfig(**state["config"])  # as trained: sizes resolved from the env
    codec = codec_from_plain(state["codec"])
    classes = codec.num_classes
    memory = Memory(config.memory)
    predictor = Predictor(config.memory, config.context_size, config.predictor_hidden, classes,
                          config.predictor_distance)
    detector = Detector(config.memory, config.context_size, config.detector_hidden, classes)
    for name, network in (("memory", memory), ("predictor", predictor), ("detector", detector)):
        network.load_state_dict(state[name])
    ema = None
    if config.detector_score == "ema_error":
        ema = EmaModel(memory, predictor, config.ema_decay)
        ema.load_state_dict(state["ema"])
    held_out = HeldOutSet.build(generate_episodes(env, episodes, seed), config, codec,
                                torch.device("cpu"))
    class_values = torch.as_tensor(codec.decode(np.arange(classes)))
    return evaluate(memory, predictor, detector, held_out, config, class_values, ema,
                    junction=env.junction_cue)


def main() -> int:
    from learner.memup.checkpoint import CheckpointDir

    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    run_root = Path(sys.argv[1]).resolve()
    checkpoint = Path(sys.argv[2]) if len(sys.argv) > 2 else CheckpointDir(
        run_root / "memup" / "checkpoints").latest()
    if checkpoint is None or not checkpoint.is_file():
        print(f"no learner checkpoint under {run_root}/memup/checkpoints: pass one as the "
              "second argument")
        return 2
    episodes = int(os.environ.get("BENCH_EPISODES", "1024"))
    seed = int(os.environ.get("BENCH_SEED", "12345"))
    figures = checkpoint_figures(run_root, checkpoint, episodes, seed)
    name = run_root.relative_to(ROOT) if run_root.is_relative_to(ROOT) else run_root.name
    row = {"run_dir": str(name), "checkpoint": checkpoint.name, "episodes": episodes,
           "seed": seed, **figures}
    rows = [r for r in read_rows("checkpoint_gain")
            if (r["run_dir"], r["checkpoint"]) != (row["run_dir"], row["checkpoint"])] + [row]
    write_result("checkpoint_gain", {"rows": rows})
    print(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
