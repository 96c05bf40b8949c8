"""The configuration of a whole run: one frozen dataclass per component, loaded from a preset.

    config = load_config("configs/tmaze-1000.yaml", overrides={"seed": 3})
    config.env.obs_dim, config.collect.num_episodes, config.memup.rollout   # env: an EnvSpec

The env is resolved here, once, into an `envs.EnvSpec` that every layer below takes; so is the
env IMPALA trains on (`train_env`: the run's env with `impala.train_env_kwargs`).

Unknown keys are an error naming the key; each component validates its own fields. Every run
saves its resolved config as `config.yaml` in the run dir.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from actors.config import CollectorConfig
from app.config_io import ConfigError, build, dump_yaml, load_yaml
from envs import EnvSpec
from app.online_config import MODES, OnlineConfig
from envs.validation import require_bool, require_choice, require_int
from learner.impala.config import ImpalaConfig
from learner.memup.config import MemUPConfig, with_env_sizes
from trajectory_store.config import StoreConfig


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run does, section by section."""

    env: EnvSpec
    """The gymnasium env: `id`, `kwargs`, `import`, `wrappers`; or the Noisy T-Maze's keyword
    arguments (corridor_length, length_jitter, noise, rewards) as they are."""
    name: str = "run"
    """Name of the run; the run dir defaults to runs/<name>-<timestamp>."""
    seed: int = 0
    """Base seed: collectors, learner and evaluation derive theirs from it."""
    store: StoreConfig = dataclasses.field(
        default_factory=lambda: StoreConfig(capacity_steps=20_000_000)
    )
    """Trajectory store capacity, sampling and rate limiting."""
    collect: CollectorConfig = dataclasses.field(default_factory=CollectorConfig)
    """Collector fleet: actors, vector envs, episode quota."""
    memup: MemUPConfig = dataclasses.field(default_factory=MemUPConfig)
    """Phase I: memory, detector, predictor and the training loop."""
    impala: ImpalaConfig = dataclasses.field(default_factory=ImpalaConfig)
    """Phase II: RLlib IMPALA on the pretrained memory."""
    baseline: bool = False
    """Whether `memup train` also trains the IMPALA-LSTM baseline on the same budget."""
    mode: str = "two-phase"
    """"two-phase": MemUP pretrains the memory on the collectors' episodes, IMPALA then trains
    on it frozen; "online": both learn at once, the memory from the policy's own episodes."""
    online: OnlineConfig = dataclasses.field(default_factory=OnlineConfig)
    """The online loop's settings (`mode: online`)."""

    def __post_init__(self) -> None:
        # A section, an EnvConfig or a spec: resolved here, so that nothing below describes it.
        object.__setattr__(self, "env", EnvSpec.from_plain(self.env))
        # The memory's input follows the env (its flat observation and action count), never a
        # preset: sized here, once.
        object.__setattr__(self, "memup", with_env_sizes(self.memup, self.env.obs_dim,
                                                         self.env.num_actions))
        if not self.name or "/" in self.name:
            raise ValueError(f"name must be a non-empty string without '/', got {self.name!r}")
        require_int("seed", self.seed, 0)
        require_bool("baseline", self.baseline)
        require_choice("mode", self.mode, MODES)

    @functools.cached_property
    def train_env(self) -> EnvSpec:
        """The env IMPALA trains on: `env` with `impala.train_env_kwargs` applied."""
        return training_env(self.env, self.impala.train_env_kwargs)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Reads a preset and applies `overrides` (nested mappings, e.g. {"memup": {"lr": 1e-3}})."""
    data = _merged(load_yaml(path), overrides or {})
    try:
        config = build(RunConfig, data)
        config.train_env  # noqa: B018 - described now, so a bad train_env_kwargs fails here
    except ValueError as error:  # ConfigError, EnvSetupError, a training env that does not fit
        raise ConfigError(f"{path}: {error}") from None
    spec = config.env
    longest, accepted = spec.max_episode_steps, config.store.max_episode_length
    if longest is not None and longest > accepted:
        # Found here, not by the first collector after minutes of stepping.
        raise ConfigError(f"{path}: {config.env.label} episodes last up to {longest} steps, more "
                          f"than the store accepts (store.max_episode_length = {accepted}): set "
                          f"`store: {{max_episode_length: {longest}}}` or more")
    return config


def _merged(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`data` with `overrides` merged in at every depth: {"memup": {"memory": {"cell": "gru"}}}
    changes the cell and keeps the preset's other memory settings."""
    merged = dict(data)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def training_env(env: EnvSpec, train_env_kwargs: dict[str, Any]) -> EnvSpec:
    """The run's env with `impala.train_env_kwargs` applied. It must give the memory the same
    inputs (flat observation size, action count) as the run's env."""
    try:
        spec = env.with_kwargs(train_env_kwargs)
    except ValueError as error:  # EnvSetupError too
        raise ValueError(f"impala.train_env_kwargs: {error}") from None
    if (spec.obs_dim, spec.num_actions) != (env.obs_dim, env.num_actions):
        raise ValueError(
            f"impala.train_env_kwargs {dict(train_env_kwargs)} change the env's inputs "
            f"({spec.obs_dim} observation floats and {spec.num_actions} actions instead of "
            f"{env.obs_dim} and {env.num_actions}): the pretrained memory could not "
            "read them; change only what keeps the spaces (e.g. a length)")
    return spec


def save_config(config: RunConfig, path: str | Path) -> None:
    dump_yaml(config, path)


__all__ = ["ConfigError", "RunConfig", "load_config", "save_config"]
