"""Sample Factory 2.1.1 APPO on one of our tasks; runs INSIDE the peer venv
(bench/.venv-sample-factory, gymnasium < 1.0, numpy < 2), started by bench/peer_sample_factory.py.

    python bench/peer/sample_factory_runner.py --peer_gym_id memup/NoisyTMaze-v0 \\
        --peer_gym_kwargs '{"corridor_length": 100}' --train_for_env_steps 4096 --num_workers 1 ...

Every argument that is not a `--peer_*` one is Sample Factory's own (`--env` is set here). Besides
Sample Factory's log (its "Fps is ..." and "Avg episode reward" lines), it prints at most once a
second and at the end of each full window a line of its own, from its episodic-stats handler:

    PEER episodes=N env_steps=S window=W mean_reward=R

the mean return of the last W finished training episodes (sampled actions), so the bench knows
when the window is full and which env step it belongs to. It imports nothing of the project but
the T-Maze's env modules, through the shim in `_load_tmaze`.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import types
from collections import deque
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

REPO = Path(__file__).resolve().parents[2]
TMAZE_ID = "memup/NoisyTMaze-v0"
SF_ENV_NAME = "memup_peer_task"


def _load_tmaze() -> type:
    """The project's NoisyTMaze class, without running envs/__init__.py: that file imports
    gymnasium-1.x-only code, while the T-Maze modules themselves (noisy_tmaze, config,
    episode_rng, validation) work with gymnasium 0.29 and numpy 1.x. An empty package module
    whose __path__ is the repo's envs/ lets `import envs.noisy_tmaze` find those files."""
    if "envs" not in sys.modules:
        package = types.ModuleType("envs")
        package.__path__ = [str(REPO / "envs")]
        sys.modules["envs"] = package
    return importlib.import_module("envs.noisy_tmaze").NoisyTMaze


class OneHotObservation(gym.ObservationWrapper):
    """A Discrete observation (POPGym's) as a float32 one-hot vector, the flat input our side's
    FlatFloatObservation gives its memory; Sample Factory's MLP encoder wants a Box."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        assert isinstance(env.observation_space, gym.spaces.Discrete)
        self._n = int(env.observation_space.n)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self._n,), np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        out = np.zeros(self._n, np.float32)
        out[int(observation)] = 1.0
        return out


def make_env(full_env_name: str, cfg: Any = None, env_config: Any = None,
             render_mode: str | None = None) -> gym.Env:
    """Sample Factory's env factory; module-level so that its spawned workers unpickle it."""
    kwargs = json.loads(cfg.peer_gym_kwargs)
    if cfg.peer_gym_id == TMAZE_ID:
        return _load_tmaze()(**kwargs)
    for module in filter(None, cfg.peer_gym_import.split(",")):
        importlib.import_module(module)
    env = gym.make(cfg.peer_gym_id, **kwargs)
    if isinstance(env.observation_space, gym.spaces.Discrete):
        env = OneHotObservation(env)
    return env


def add_peer_args(parser: Any) -> None:
    parser.add_argument("--peer_gym_id", required=True, type=str, help="the task's gymnasium id")
    parser.add_argument("--peer_gym_kwargs", default="{}", type=str, help="its kwargs, as JSON")
    parser.add_argument("--peer_gym_import", default="", type=str,
                        help="modules that register the id, comma-separated")
    parser.add_argument("--peer_window", default=100, type=int,
                        help="episodes in the PEER line's mean reward")


class EpisodeWindow:
    """The runner's episodic-stats handler: the last `window` training returns, printed as a
    PEER line at most once a second and whenever the count reaches a multiple of the window."""

    def __init__(self, window: int) -> None:
        self.rewards: deque[float] = deque(maxlen=window)
        self.episodes = 0
        self._printed = 0.0

    def __call__(self, runner: Any, msg: dict, policy_id: int) -> None:
        reward = msg["episodic"]["reward"]
        values = np.atleast_1d(np.asarray(reward, np.float64))
        self.rewards.extend(float(v) for v in values)
        self.episodes += len(values)
        now = time.monotonic()
        if now - self._printed >= 1.0 or self.episodes % self.rewards.maxlen == 0:
            self._printed = now
            env_steps = int(sum(runner.env_steps.values()))
            print(f"PEER episodes={self.episodes} env_steps={env_steps} "
                  f"window={len(self.rewards)} mean_reward={np.mean(self.rewards):.6f}",
                  flush=True)


def main(argv: list[str]) -> int:
    from sample_factory.algo.utils.misc import ExperimentStatus
    from sample_factory.cfg.arguments import parse_full_cfg, parse_sf_args
    from sample_factory.envs.env_utils import register_env
    from sample_factory.train import make_runner

    argv = [*argv, f"--env={SF_ENV_NAME}"]
    if not any(arg.startswith("--device") for arg in argv):
        import torch

        argv.append(f"--device={'gpu' if torch.cuda.is_available() else 'cpu'}")
    parser, _ = parse_sf_args(argv)
    add_peer_args(parser)
    cfg = parse_full_cfg(parser, argv)
    register_env(SF_ENV_NAME, make_env)
    # run_rl(cfg), with our episodic-stats handler registered between making and starting it.
    cfg, runner = make_runner(cfg)
    runner.register_episodic_stats_handler(EpisodeWindow(cfg.peer_window))
    status = runner.init()
    if status == ExperimentStatus.SUCCESS:
        status = runner.run()
    return int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
