"""`memup train` with `mode: online` (configs/smoke-online.yaml): MemUP and IMPALA run together,
the policy's episodes reach the store with their versions, new memories are swapped in."""

import json
from pathlib import Path

import numpy as np
import yaml
from cli_runs import memup_train

from app.services import redis_for_run
from envs import NoisyTMaze
from learner.impala.episode_sink import POLICY_ID
from learner.metrics import read_metrics
from learner.run_dir import RunDir
from memup_module import load_memory
from memup_module.rl_module import load_policy
from trajectory_store import StoreHandle

ROOT = Path(__file__).resolve().parents[2]
ONLINE = ROOT / "configs" / "smoke-online.yaml"


def test_the_online_loop_runs_end_to_end(tmp_path):
    run_dir = tmp_path / "online"
    memup_train(ONLINE, run_dir)
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["online/memory_versions"] >= 1
    assert figures["impala/env_steps"] >= 6000
    assert "memup/junction_accuracy" in figures

    rounds = [m for m in read_metrics(run_dir / "metrics.jsonl") if "online/memory_version" in m]
    assert rounds and rounds[-1]["online/policy_episode_share"] > 0
    assert rounds[-1]["online/samples_per_insert"] > 0

    assert (run_dir / "online_loop.png").is_file()
    assert "![Online loop](online_loop.png)" in (run_dir / "report.md").read_text()

    policy = load_policy(run_dir / "policy")
    assert int(policy.memory_version) >= 1
    # memory.pt is the MemUP learner's newest memory, of the policy's architecture.
    assert policy.memory.config == load_memory(run_dir / "memup" / "memory.pt").config

    # The run's store persists in its run dir: its policy episodes name their versions and
    # replay from their seed and actions.
    with redis_for_run(run_dir / "redis") as url:
        store = StoreHandle(url, RunDir(run_dir).store_name).connect()
        try:
            episodes = list(store.iterate())
        finally:
            store.close()
    played = [e for e in episodes if e.meta["policy_id"] == POLICY_ID]
    collected = [e for e in episodes if e.meta["policy_id"] != POLICY_ID]
    assert played and collected
    assert all(e.meta["memory_version"] is None for e in collected)
    assert all(isinstance(e.meta["policy_version"], int) for e in played)
    assert max(e.meta["memory_version"] for e in played) >= 1
    env = NoisyTMaze(**played[-1].meta["env_kwargs"])
    for episode in played[-3:]:
        obs, _ = env.reset(options={"episode_seed": episode.meta["seed"]})
        for t, action in enumerate(episode.action):
            np.testing.assert_array_equal(obs, episode.obs[t])
            obs, reward, terminated, _, _ = env.step(int(action))
            assert np.float32(reward) == episode.reward[t]
        assert terminated


def test_the_online_loop_fine_tunes_the_memory_with_exploring_collectors_in_the_mix(tmp_path):
    preset = yaml.safe_load(ONLINE.read_text())
    preset["impala"]["freeze_memory"] = False
    preset["collect"].update(policy="repeat", repeat_exponent=1.5)
    preset["online"]["collector_share"] = 0.4
    config = tmp_path / "fine-tuned.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / "fine-tuned"
    memup_train(config, run_dir)
    figures = json.loads((run_dir / "figures.json").read_text())
    assert figures["online/memory_versions"] >= 1
    policy = load_policy(run_dir / "policy")
    assert not policy.freeze_memory and int(policy.memory_version) >= 1

    # The collectors kept playing while the loop ran, paced to their share of the inserts.
    with redis_for_run(run_dir / "redis") as url:
        store = StoreHandle(url, RunDir(run_dir).store_name).connect()
        try:
            by_policy = store.stats().inserted_by_policy
        finally:
            store.close()
    played, collected = by_policy[POLICY_ID], by_policy["repeat-random-2"]
    during_loop = collected - preset["collect"]["num_episodes"]
    slack = preset["collect"]["num_envs"] + preset["collect"]["flush_episodes"]
    assert 0 < during_loop <= played * 0.4 / 0.6 + slack
