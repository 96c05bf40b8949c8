"""The peer bench reads Sample Factory's log right: throughput from its reports, the goal only
over a full window of episodes, T-Maze returns as success rates (bench/peer_sample_factory.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.peer_log import GOAL, PeerLog, PeerTask
from bench.peer_sample_factory import PEER_REQUIREMENTS, markdown_table, ours_row

ROOT = Path(__file__).resolve().parents[2]
TMAZE = PeerTask("tmaze-100", "memup/NoisyTMaze-v0", {"corridor_length": 100}, "",
                 "success_rate", -3.0, 4.0, 256, 0.99, 0.003, 500_000)
REPEAT = PeerTask("popgym-repeat-first-medium", "popgym-RepeatFirstMedium-v0", {}, "popgym",
                  "mean_return", 0.0, 1.0, 128, 0.99, 0.0003, 500_000)


def fps_line(stamp: str, frames: int, rate_60s: str = "nan") -> str:
    # As Sample Factory logs it to a pipe: colour codes around the message.
    return (f"\x1b[36m[2026-12-07 02:{stamp}][08040] Fps is (10 sec: 512.0, 60 sec: {rate_60s}, "
            f"300 sec: nan). Total num frames: {frames}. Throughput: 0: nan. Samples: 2371. "
            "Policy #0 lag: (min: 0.0, avg: 0.0, max: 0.0)\x1b[0m\n")


def peer_line(episodes: int, steps: int, window: int, reward: float) -> str:
    return f"PEER episodes={episodes} env_steps={steps} window={window} mean_reward={reward}\n"


def test_throughput_comes_from_the_reports_time_stamps_and_sample_factorys_60s_figure():
    log = PeerLog(TMAZE)
    assert not log.feed(fps_line("49:01,000", 0), 1.0)  # frames 0: start-up, not counted
    assert not log.feed(fps_line("49:06,000", 2048), 6.0)
    assert not log.feed(fps_line("49:16,000", 12288, "1000.5"), 16.0)
    assert log.env_steps_per_s() == pytest.approx((12288 - 2048) / 10.0)
    assert log.rate_60s == 1000.5 and log.env_steps == 12288


def test_with_one_report_the_rate_is_sample_factorys_final_fps():
    log = PeerLog(TMAZE)
    log.feed(fps_line("49:01,388", 2048), 5.0)
    log.feed("\x1b[37m\x1b[1m[2026-12-07 02:49:07,999][08040] Collected {0: 6144}, FPS: 320.3"
             "\x1b[0m\n", 12.0)
    assert log.env_steps_per_s() == 320.3 and log.env_steps == 6144


def test_stopped_before_any_report_the_rate_comes_from_the_peer_lines():
    log = PeerLog(TMAZE)
    log.feed(peer_line(5, 1024, 5, -3.0), 10.0)
    log.feed(peer_line(9, 3072, 9, -3.0), 12.0)
    assert log.env_steps_per_s() == pytest.approx(1024.0)


def test_sample_factorys_average_reward_is_read_as_a_success_rate():
    log = PeerLog(TMAZE)
    log.feed("\x1b[36m[2026-12-07 02:49:01,389][08040] Avg episode reward: [(0, '-0.038')]"
             "\x1b[0m\n", 5.0)
    assert log.sf_avg_value == pytest.approx((-0.038 + 3.0) / 7.0)


def test_the_goal_counts_only_over_a_full_window_and_stops_at_the_first_line_there():
    log = PeerLog(TMAZE, window=100)
    assert not log.feed(peer_line(1, 0, 1, 4.0), 3.0)  # one lucky episode: success 1.0
    assert log.best is None and log.last_value == 1.0
    assert not log.feed(peer_line(150, 20_000, 100, 0.5), 9.0)  # success 0.5
    assert log.best == pytest.approx(0.5) and log.best_env_steps == 20_000
    assert log.feed(peer_line(400, 50_000, 100, 3.95), 20.0)  # (3.95 + 3) / 7 = 0.993
    assert (log.goal_s, log.goal_env_steps) == (20.0, 50_000)
    assert not log.feed(peer_line(500, 60_000, 100, 4.0), 25.0)  # goal time kept
    assert log.goal_s == 20.0 and log.best == 1.0


def test_repeat_first_takes_the_mean_return_itself():
    log = PeerLog(REPEAT, window=100)
    assert not log.feed(peer_line(200, 80_000, 100, 0.98), 30.0)
    assert log.feed(peer_line(210, 84_000, 100, GOAL), 31.0)
    assert log.best == GOAL and log.goal_env_steps == 84_000


def test_unrelated_lines_change_nothing():
    log = PeerLog(TMAZE)
    for line in ("[2026-12-07 02:49:07,999][08040] Loop Runner_EvtLoop terminating...\n",
                 "Traceback (most recent call last):\n", "\n"):
        assert not log.feed(line, 1.0)
    assert log.env_steps == 0 and log.env_steps_per_s() is None and log.last_value is None


def test_the_table_puts_the_peer_first_and_says_what_each_row_measures():
    rows = [{"task": "tmaze-100", "system": "two-phase", "measure": "success_rate",
             "budget": 500_000, "env_steps_per_s": 4000.0, "reached_goal": True,
             "time_to_goal_s": 61.2, "env_steps_to_goal": 32_768, "collected_env_steps": 420_000,
             "best": 1.0, "best_env_steps": 32_768, "measured_on": "held-out episodes, greedy"},
            {"task": "tmaze-100", "system": "sf", "measure": "success_rate", "budget": 500_000,
             "env_steps_per_s": 9000.0, "reached_goal": False, "time_to_goal_s": None,
             "env_steps_to_goal": None, "best": 0.62, "best_env_steps": 480_000,
             "measured_on": "training episodes, sampled, last 100"}]
    header, rule, peer, ours = markdown_table(rows)
    assert header.count("|") == rule.count("|") == peer.count("|") == ours.count("|")
    assert peer.split("|")[2].strip() == "SF APPO-LSTM"
    assert "| – | – | 0.620 success rate at 480,000 of 500,000 |" in peer
    assert "| 61 s | 32,768 (+ 420,000 collected for MemUP) |" in ours
    tuned = {**rows[1], "system": "sf --num_envs_per_worker=16"}
    _, _, peer, tuned_line, ours = markdown_table([*rows, tuned])
    assert tuned_line.split("|")[2].strip() == "SF APPO-LSTM (--num_envs_per_worker=16)"


def test_our_rows_come_from_the_evaluation_records_of_each_policy():
    records = [{"memup/loss": 0.1},
               {"impala/success_rate": 0.5, "impala/env_steps": 8192.0, "impala/wall_s": 5.0,
                "impala/env_steps_per_s": 3000.0},
               {"impala/baseline_success_rate": 0.52, "impala/baseline_env_steps": 8192.0,
                "impala/baseline_wall_s": 4.0, "impala/baseline_env_steps_per_s": 2500.0},
               {"impala/success_rate": 1.0, "impala/env_steps": 16384.0, "impala/wall_s": 9.0,
                "impala/env_steps_per_s": 3100.0}]
    ours = ours_row(TMAZE, records, "impala/", offset_s=40.0)
    assert ours["reached_goal"] and ours["time_to_goal_s"] == 49.0
    assert (ours["env_steps_to_goal"], ours["best"], ours["env_steps_per_s"]) == (16384.0, 1.0,
                                                                                  3100.0)
    baseline = ours_row(TMAZE, records, "impala/baseline_", offset_s=2.0)
    assert not baseline["reached_goal"] and baseline["time_to_goal_s"] is None
    assert (baseline["best"], baseline["best_env_steps"]) == (0.52, 8192.0)


def test_the_peer_pins_follow_the_project():
    """torch at the project's version (else pip pulls CUDA wheels), popgym at the envs extra's."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package in ("torch", "popgym"):
        pinned = re.search(rf'"({package}==[^"]+)"', pyproject)
        assert pinned and pinned[1] in PEER_REQUIREMENTS
    assert "sample-factory==2.1.1" in PEER_REQUIREMENTS
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "bench/.venv-*/" in ignored
