"""Reading Sample Factory's log (bench/peer_sample_factory.py): its throughput reports, its
average reward and our runner's PEER lines (mean over the last training episodes), and the
moment the goal is first reached."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import datetime

GOAL = 0.99
WINDOW = 100

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")
_FPS = re.compile(r"Fps is \(10 sec: (\S+), 60 sec: (\S+), 300 sec: (\S+)\)\. "
                  r"Total num frames: (\d+)")
_AVG = re.compile(r"Avg episode reward: \[\(0, '(\S+?)'\)\]")
_PEER = re.compile(r"^PEER episodes=(\d+) env_steps=(\d+) window=(\d+) mean_reward=(\S+)")
_FINAL = re.compile(r"Collected \{0: (\d+)\}, FPS: (\S+)")


@dataclasses.dataclass(frozen=True)
class PeerTask:
    """One task as the runner gets it; `low`/`high` turn a T-Maze return into success (every
    episode reaches the junction and pays one of the two)."""
    name: str
    gym_id: str
    gym_kwargs: dict
    gym_import: str
    measure: str  # "success_rate" or "mean_return"
    low: float
    high: float
    rnn_size: int
    gamma: float
    entropy_coeff: float
    budget: int
    seed: int = 0

    def value(self, mean_reward: float) -> float:
        if self.measure == "success_rate":
            return (mean_reward - self.low) / (self.high - self.low)
        return mean_reward


@dataclasses.dataclass
class PeerLog:
    """What Sample Factory's log has said so far; `feed` returns True on the line where the goal
    is first reached. The goal counts only over a full window of training episodes."""
    task: PeerTask
    window: int = WINDOW
    fps: list[tuple[float, int]] = dataclasses.field(default_factory=list)  # (log time, frames)
    peer: list[tuple[float, int]] = dataclasses.field(default_factory=list)  # (elapsed, steps)
    rate_60s: float | None = None
    final_fps: float | None = None
    env_steps: int = 0
    episodes: int = 0
    last_value: float | None = None
    sf_avg_value: float | None = None  # Sample Factory's own "Avg episode reward", as a value
    best: float | None = None
    best_env_steps: int | None = None
    goal_s: float | None = None
    goal_env_steps: int | None = None

    def feed(self, line: str, elapsed_s: float) -> bool:
        line = _ANSI.sub("", line).strip()
        if match := _FPS.search(line):
            stamp = _STAMP.search(line)
            frames = int(match[4])
            self.env_steps = max(self.env_steps, frames)
            if stamp and frames > 0:
                self.fps.append((_seconds(stamp[1]), frames))
            if math.isfinite(rate := float(match[2])):
                self.rate_60s = rate
        elif match := _FINAL.search(line):
            self.env_steps = max(self.env_steps, int(match[1]))
            self.final_fps = float(match[2])
        elif match := _AVG.search(line):
            self.sf_avg_value = self.task.value(float(match[1]))
        elif match := _PEER.match(line):
            self.episodes, steps, full = int(match[1]), int(match[2]), int(match[3]) >= self.window
            self.env_steps = max(self.env_steps, steps)
            if steps > 0:
                self.peer.append((elapsed_s, steps))
            self.last_value = value = self.task.value(float(match[4]))
            if full and (self.best is None or value > self.best):
                self.best, self.best_env_steps = value, steps
            if full and value >= GOAL and self.goal_s is None:
                self.goal_s, self.goal_env_steps = elapsed_s, steps
                return True
        return False

    def env_steps_per_s(self) -> float | None:
        """Between the first and last throughput report (log time stamps): sampling with
        learning, start-up left out; with fewer than two reports (a short run), Sample Factory's
        final FPS, else the same between our PEER lines (arrival times)."""
        rate = _rate(self.fps)
        if rate is None:
            rate = self.final_fps or _rate(self.peer)
        return self.rate_60s if rate is None else rate


def _rate(points: list[tuple[float, int]]) -> float | None:
    """Steps per second between the first and the last (time, steps) point."""
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    (t0, s0), (t1, s1) = points[0], points[-1]
    return (s1 - s0) / (t1 - t0)


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
