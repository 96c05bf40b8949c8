"""MemUP learner (phase I): update throughput, memory against L, time to junction_accuracy 0.99.

Every measurement that needs a clean process (memory peaks, time to target) runs in a child
`python -m bench.memup_learner --child JSON`; "process wall" is timed by the parent from the
child's launch to its exit, so it includes interpreter start, imports and data generation —
the reference's "wall with data generation" measured the same way.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, write_result  # noqa: E402

# The authors' reference code on a 2-core machine (batch 64, LSTM 256, Adam 5e-4, 4000 random
# episodes, rollout 1): training seconds and updates to eval accuracy >= 0.99.
REFERENCE = {
    "100": {"train_s": 16.0, "updates": 1000},
    "1000": {"train_s": 112.0, "updates": 6000, "wall_with_data_s": 265.0},
}
# Per length: generated episodes (the "collected" data), evaluation cadence, update budget.
PRESETS = {
    100: {"episodes": 1000, "eval_every": 100, "max_updates": 10_000},
    1000: {"episodes": 500, "eval_every": 500, "max_updates": 30_000},
    # r = 1 keeps each slot on one episode for 10 000 updates: the predictor memorised the 64
    # slot episodes instead of learning the cue. r = 16 turns slots over 16x faster.
    10000: {"episodes": 300, "rollout": 16, "eval_every": 250, "eval_episodes": 128,
            "eval_screen_episodes": 32, "max_updates": 20_000},
}
TARGET = 0.99


# ------------------------------------------------------------------------------ child tasks
def _trainer(length: int, episodes: int, seed: int, **overrides):
    """A trainer on `episodes` freshly generated random-policy episodes, and their env steps."""
    from envs import tmaze_spec
    from learner.memup.inputs.episodes import InMemorySource, generate_episodes
    from learner.memup.training import MemUPTrainer
    from learner.memup import MemUPConfig

    tmaze = tmaze_spec(length)
    data = generate_episodes(tmaze, episodes, 10_000 + seed)
    config = MemUPConfig(seed=seed, **overrides)
    trainer = MemUPTrainer(config, InMemorySource(data, seed), tmaze)
    return trainer, sum(len(e.action) for e in data)


def _rss_mb() -> float:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child_throughput(device: str, rollout: int, length: int, updates: int) -> dict:
    trainer, _ = _trainer(length, 200, 0, device=device, rollout=rollout)
    trainer.train(20)
    best = 0.0
    for _ in range(3):
        trainer.train_metrics()
        metrics = trainer.train(updates)
        best = max(best, metrics["memup/slot_steps_per_s"])
    trainer.close()
    return {"slot_steps_per_s": round(best), "updates_per_s": round(best / (64 * rollout), 1)}


def _reset_peak_rss() -> bool:
    """Restarts the kernel's peak-RSS count (VmHWM) from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as file:
        line = next(line for line in file if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _fill_store(url: str, length: int, episodes: int) -> None:
    """Generates the episodes and inserts them (run in another process, so that what
    generating and encoding them leaves behind is not counted as the learner's)."""
    from envs import tmaze_spec
    from learner.memup.inputs.episodes import generate_episodes
    from trajectory_store import Episode, TrajectoryStore

    data = generate_episodes(tmaze_spec(length), episodes, 10_000)
    with TrajectoryStore.connect(url, "bench", capacity_steps=10**9,
                                 max_episode_length=2 * length + 1000, seed=0) as store:
        for part in range(0, len(data), 8):
            store.insert([Episode.create(e.obs, e.action, e.reward, env_id="memup/NoisyTMaze-v0",
                                         env_kwargs=e.meta["env_kwargs"], seed=e.meta["seed"],
                                         collector_id="bench", policy_id="random")
                          for e in data[part:part + 8]])


def child_memory(length: int, device: str, episodes: int = 150, updates: int = 300,
                 source: str = "memory") -> dict:
    """RSS of a learner at corridor length `length`. With `source="memory"` the generated
    episodes stand in for the store: their columns are the source's, so the peak is taken from
    after their generation and reported less their bytes (`peak_rss_learner_process_mb`).
    With `source="store"` another process generates them and inserts them into an embedded
    Redis (a third process); the learner samples the store as a run does (long episodes a
    chunk at a time), and its peak is reported whole."""
    import gc
    import multiprocessing
    import tempfile

    import torch

    from envs import tmaze_spec
    from learner.memup import MemUPConfig
    from learner.memup.inputs.episodes import InMemorySource, generate_episodes
    from learner.memup.training import MemUPTrainer
    from trajectory_store import TrajectoryStore, start_embedded_redis

    tmaze = tmaze_spec(length)
    config = MemUPConfig(seed=0, device=device)
    if source == "memory":
        data = generate_episodes(tmaze, episodes, 10_000)
        data_mb = sum(e.obs.nbytes + e.action.nbytes + e.reward.nbytes for e in data) / 2**20
        gc.collect()
        result = _measure(MemUPTrainer, config, InMemorySource(data, 0), tmaze, updates, torch)
        held_mb = data_mb
    else:
        with tempfile.TemporaryDirectory() as data_dir:
            server = start_embedded_redis(data_dir)
            try:
                filler = multiprocessing.get_context("spawn").Process(
                    target=_fill_store, args=(server.url, length, episodes))
                filler.start()
                filler.join()
                if filler.exitcode != 0:
                    raise RuntimeError(f"filling the store failed (exit code {filler.exitcode})")
                with TrajectoryStore.connect(server.url, "bench", seed=0) as store:
                    data_mb = store.stats().steps * 20 / 2**20  # obs 3 + action + reward, 4 B each
                    result = _measure(MemUPTrainer, config, store, tmaze, updates, torch)
            finally:
                server.stop()
        held_mb = 0.0
    peak, before = result.pop("peak"), result.pop("before")
    return {"source": source, "episodes_generated": episodes, "episode_data_mb": round(data_mb, 1),
            **result, "peak_rss_learner_process_mb": round(peak - held_mb, 1),
            "peak_rss_growth_over_data_mb": round(peak - before, 1)}


def _measure(trainer_class, config, source, tmaze, updates: int, torch) -> dict:
    peak_reset = _reset_peak_rss()
    before = _rss_mb()
    trainer = trainer_class(config, source, tmaze)
    trainer.train(5)
    saved = []

    def pack(tensor):
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        trainer.update()
    cuda = torch.cuda.is_available() and trainer.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = _rss_mb()
    trainer.train(updates)
    result = {
        "peak": _peak_rss_mb() if peak_reset else math.nan,
        "before": before,
        "update_activation_bytes": sum(saved),
        "rss_growth_during_updates_mb": round(_rss_mb() - started, 1),
        "peak_rss_process_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "slot_buffer_mb": round(trainer.slots.nbytes() / 2**20, 2),
        "chunk_steps": trainer.config.chunk_steps,
    }
    if cuda:
        result["cuda_max_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    trainer.close()
    return result


def child_time_to_target(length: int, seed: int, overrides: dict) -> dict:
    start = time.perf_counter()
    preset = {**PRESETS[length], **overrides}
    episodes, max_updates = preset.pop("episodes"), preset.pop("max_updates")
    trainer, env_steps = _trainer(length, episodes, seed, **preset)
    data_s = time.perf_counter() - start
    eval_s = []
    metrics = trainer.train_until(TARGET, max_updates, progress=False,
                                  callback=lambda step, m: eval_s.append(m["memup/eval_time_s"]))
    trainer.close()
    return {
        "reached": metrics["memup/junction_accuracy"] >= TARGET,
        "junction_accuracy": metrics["memup/junction_accuracy"],
        "detector_hit_rate": metrics["memup/detector_hit_rate"],
        "updates": trainer.step,
        "env_steps_generated": env_steps,
        "slot_steps_trained": trainer.slot_steps,
        "data_and_setup_s": round(data_s, 2),
        "evaluation_s": round(sum(eval_s), 2),
        "after_imports_s": round(time.perf_counter() - start, 2),
    }


CHILD_TASKS = {"throughput": child_throughput, "memory": child_memory,
               "time_to_target": child_time_to_target}


# ----------------------------------------------------------------------------- parent side
def _in_child(task: str, **kwargs) -> dict:
    launched = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.memup_learner", "--child",
                          json.dumps({"task": task, **kwargs})],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - launched
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"bench child {task} {kwargs} failed:\n{out.stderr[-3000:]}")
    return {**json.loads(lines[-1][len("RESULT "):]), "process_wall_s": round(wall, 2)}


def _time_to_target(length: int, seeds: list[int], overrides: dict | None = None) -> dict:
    runs = [_in_child("time_to_target", length=length, seed=s, overrides=overrides or {})
            for s in seeds]
    walls = [r["process_wall_s"] for r in runs]
    summary = {
        "all_reached": all(r["reached"] for r in runs),
        "median_process_wall_s": statistics.median(walls),
        "max_process_wall_s": max(walls),
        "median_updates": statistics.median(r["updates"] for r in runs),
        "env_steps_generated": runs[0]["env_steps_generated"],
        "median_slot_steps_trained": statistics.median(r["slot_steps_trained"] for r in runs),
        "runs": runs,
    }
    reference = REFERENCE.get(str(length))
    if reference:
        best_reference = reference.get("wall_with_data_s", reference["train_s"])
        summary["reference_s"] = best_reference
        summary["speedup_vs_reference"] = round(best_reference / summary["max_process_wall_s"], 1)
    return summary


MEMORY_LENGTHS = (100, 10_000, 100_000)
NOTES = [
    "process_wall_s: child launch to exit (interpreter, imports incl. ~1 s of torch._dynamo "
    "pulled in by torch.optim, data generation, training, every evaluation).",
    "reference_s: the reference's best known figure at that length: wall with data "
    "generation at L=1000 (265 s), training time alone at L=100 (16 s; its wall is longer).",
    "memory_by_corridor_length: peak_rss_learner_process_mb is the child's peak RSS from "
    "after the episodes were generated, less their columns (they stand in for the store); "
    "the learner holds a two-chunk window per slot and 2-byte U_t codes per step "
    "(MemUPConfig.chunk_steps), never whole-episode float arrays; the detector scores "
    "blocks of at most BLOCK_ROWS (episode, step) rows (learner/memup/inputs/loader.py).",
    "memory_by_corridor_length_store: the same episodes inserted into an embedded Redis "
    "(another process); the learner samples them with sample_streamed, long ones read one "
    "2048-row record batch at a time (trajectory_store/streamed.py), so it holds per step "
    "only f_t's class (1 byte) and U_t's codes (2 bytes x K); the peak is reported whole.",
    "L=10000 runs with rollout 16 (see PRESETS); L=100 and 1000 use the defaults (rollout 1).",
    "torch uses 1 intra-op thread (MemUPConfig.num_threads): see its docstring.",
]


def memory_by_length(devices: list[str], source: str = "memory") -> dict:
    """Learner peak RSS per corridor length and its ratio to L = 100 (goal: <= 1.2)."""
    figures = {}
    for device in devices:
        runs = {str(n): _in_child("memory", length=n, device=device, source=source)
                for n in MEMORY_LENGTHS}
        base = runs["100"]["peak_rss_learner_process_mb"]
        runs["peak_ratio_to_L100"] = {n: round(r["peak_rss_learner_process_mb"] / base, 3)
                                      for n, r in runs.items()}
        figures[device] = runs
    return figures


def run(quick: bool = False) -> dict:
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    lengths = [100, 1000, 10000]
    result: dict = {"target_junction_accuracy": TARGET, "reference": REFERENCE,
                    "load_average_at_start": os.getloadavg(),
                    "presets": {str(k): v for k, v in PRESETS.items()}}
    result["update_slot_steps_per_s"] = {
        device: {f"rollout_{r}": _in_child("throughput", device=device, rollout=r, length=1000,
                                           updates=(100 if quick else 300) // r + 10)
                 for r in ((1, 16) if quick else (1, 2, 4, 16, 64))}
        for device in devices
    }
    result["memory_by_corridor_length"] = memory_by_length(devices)
    result["memory_by_corridor_length_store"] = memory_by_length(devices, "store")
    seeds = [0] if quick else [0, 1, 2, 3, 4]
    result["time_to_target"] = {
        str(n): _time_to_target(n, seeds if n < 10000 else seeds[:1])
        for n in (lengths[:1] if quick else lengths)
    }
    result["notes"] = NOTES
    if not quick:
        result["rollout_sweep"] = {
            f"L{n}_rollout_{r}": _time_to_target(n, [0, 1], {"rollout": r})
            for n, rollouts in ((100, (2, 4, 8)), (1000, (2, 4))) for r in rollouts
        }
        result["ablations_L1000"] = {
            "no_stagger": _time_to_target(1000, [0, 1], {"stagger_start": False}),
            "forget_bias_0": _time_to_target(1000, [0, 1], {"memory": {"forget_bias": 0.0}}),
            "forget_bias_3": _time_to_target(1000, [0, 1], {"memory": {"forget_bias": 3.0}}),
        }
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        arguments = json.loads(sys.argv[2])
        print("RESULT " + json.dumps(CHILD_TASKS[arguments.pop("task")](**arguments)), flush=True)
    elif sys.argv[1:] == ["--memory"]:
        import torch

        # Only the memory section is measured again; the rest of the recorded run stays.
        previous = RESULTS_DIR / "memup_learner.json"
        figures = json.loads(previous.read_text()) if previous.exists() else {}
        for key in ("benchmark", "machine", "recorded_at"):
            figures.pop(key, None)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for key, source in (("memory_by_corridor_length", "memory"),
                            ("memory_by_corridor_length_store", "store")):
            figures[key] = memory_by_length(devices, source)
            print(key, json.dumps(figures[key], indent=2), flush=True)
        figures["notes"] = NOTES
        print("written to", write_result("memup_learner", figures))
    else:
        figures = run(quick="--quick" in sys.argv)
        print(json.dumps(figures, indent=2))
        print("written to", write_result("memup_learner", figures))
