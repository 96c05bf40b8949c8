"""What an online run's store holds (docs/design.md §14): per behaviour policy, how many
episodes, how often they saw the cue and reached the junction, and how that changed as memory
versions came in; beside the run's final figures. One row per run in
`bench/results/online_runs.json`.

    make train CONFIG=configs/detour-tmaze-10.yaml RUN_NAME=detour
    python -m bench.online_runs --run-dir runs/detour --note "D = 3"

The cue columns read the T-Maze observation layout ([cue, junction, noise]); other envs get
the counts and figures only. Not in `make bench`: it needs a trained run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from app.config import load_config
from app.services import redis_for_run
from bench.common import read_rows, write_result
from envs.agent_inputs import memory_inputs
from learner.impala.evaluation.cue_probe import CueProbe, ProbeError
from learner.metrics import read_metrics
from learner.run_dir import RunDir
from memup_module import load_memory
from trajectory_store import StoreHandle

NAME = "online_runs"
FIGURES = ("impala/success_rate", "impala/mean_return", "impala/mmer", "impala/env_steps",
           "impala/wall_s", "impala/baseline_success_rate", "online/memory_versions",
           "memup/step", "memup/memory_gain_nll", "run/wall_s")


def behaviour_rows(episodes: list, cue_layout: bool) -> list[dict]:
    """Per policy id and memory-version half: episodes, cue seen, junction reached, success."""
    rows = []
    for policy in sorted({e.meta["policy_id"] for e in episodes}):
        mine = [e for e in episodes if e.meta["policy_id"] == policy]
        versions = [e.meta["memory_version"] for e in mine if e.meta["memory_version"] is not None]
        middle = int(np.median(versions)) if versions else None
        groups = {"all": mine}
        if middle is not None:
            groups[f"memory < {middle}"] = [e for e in mine if e.meta["memory_version"] < middle]
            groups[f"memory >= {middle}"] = [e for e in mine if e.meta["memory_version"] >= middle]
        for label, group in groups.items():
            if not group:
                continue
            row = {"policy_id": policy, "episodes": label, "count": len(group),
                   "terminated": float(np.mean([e.meta["terminated"] for e in group])),
                   "success": float(np.mean([bool(e.meta["success"]) for e in group]))}
            if cue_layout:
                seen = np.array([np.any(e.obs[:, 0] != 0) for e in group])
                ended = np.array([e.meta["terminated"] for e in group])
                row["cue_seen"] = float(seen.mean())
                # What MemUP needs: an episode that shows the cue and the answer to it.
                row["cue_and_junction"] = float((seen & ended).mean())
                informed = [e for e, keep in zip(group, seen & ended) if keep]
                if informed:  # does the policy answer with the cue it went to see?
                    row["success_after_cue"] = float(np.mean([bool(e.meta["success"])
                                                              for e in informed]))
            rows.append(row)
    return rows


def cue_probe_accuracy(run: RunDir, episodes: list) -> float | None:
    """Whether the run's final memory holds the cue at the junction: a logistic probe on the
    memory state at the last step of the episodes that saw the cue and reached the junction,
    fit on 70 % of them, accuracy on the rest (None: too few such episodes)."""
    informed = [e for e in episodes if np.any(e.obs[:, 0] != 0) and e.meta["terminated"]]
    if len(informed) < 20 or not run.memory.is_file():
        return None
    memory = load_memory(run.memory)
    features, sides = [], []
    with torch.no_grad():
        for e in informed:
            x = memory_inputs(e.obs, e.action, e.reward, memory.config.num_actions)
            m, _ = memory(torch.from_numpy(x)[None])
            features.append(m[0, -1].numpy())
            sides.append(int(e.obs[np.flatnonzero(e.obs[:, 0])[0], 0] > 0))
    features, sides = np.array(features), np.array(sides)
    fit = int(0.7 * len(sides))
    try:
        return CueProbe.fit(features[:fit], sides[:fit]).accuracy(features[fit:], sides[fit:])
    except ProbeError:
        return None


def run_figures(run: RunDir) -> dict:
    """FIGURES of a finished run; of an interrupted one (no figures file), the last value each
    had in its metrics, with "interrupted": True."""
    if run.figures.is_file():
        figures = json.loads(run.figures.read_text())
        return {key: figures.get(key) for key in FIGURES}
    last: dict = {}
    for record in read_metrics(run.metrics):
        last.update({key: value for key, value in record.items() if key in FIGURES})
    return {**{key: last.get(key) for key in FIGURES}, "interrupted": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--note", default="", help="what was varied, how the run went")
    args = parser.parse_args()
    run = RunDir(args.run_dir.resolve())
    config = load_config(run.config)
    with redis_for_run(run.redis) as url:
        store = StoreHandle(url, run.store_name).connect()
        try:
            episodes = list(store.iterate())
        finally:
            store.close()
    row = {"run": run.root.name, "preset": config.name, "mode": config.mode,
           "env": config.env.to_plain(), **run_figures(run),
           "behaviour": behaviour_rows(episodes, config.env.obs_dim == 3),
           "memory_cue_probe": (cue_probe_accuracy(run, episodes)
                                if config.env.obs_dim == 3 else None),
           "note": args.note}
    rows = [r for r in read_rows(NAME) if r["run"] != row["run"]] + [row]
    print(json.dumps(row, indent=2))
    print("written to", write_result(NAME, {
        "command": "python -m bench.online_runs --run-dir RUN --note ...", "rows": rows}))


if __name__ == "__main__":
    main()
