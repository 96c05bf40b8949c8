"""The env of a run, described once (docs/design.md §11): everything the layers below the
application need to know of it, so that none of them builds an env just to learn its sizes.

    spec = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", imports=("popgym",)))
    spec.obs_dim, spec.num_actions, spec.max_episode_steps, spec.reward_values
    spec.reports_success, spec.junction_cue, spec.corridor_length    # what the env supports
    make_vector_env(spec, num_envs=64)                                # envs.make builds it

A spec is a small frozen value: it pickles through Ray to every actor and EnvRunner, and a
preset's `env:` section reads into one (`EnvSpec.from_plain`) and writes back (`to_plain`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from envs.agent_inputs import NUM_ACTIONS
from envs.env_config import TMAZE_ID, EnvConfig
from envs.flat_observation import UnflattenableSpaceError, flat_size
from envs.make import EnvSetupError, make_raw_env
from envs.noisy_tmaze import OBS_DIM
from envs.validation import is_int

# A horizon for envs that declare none, so evaluation loops always end.
DEFAULT_MAX_EPISODE_STEPS = 100_000


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """What the rest of the system needs to know of an env."""

    config: EnvConfig
    """The gymnasium id, its keyword arguments, imports and wrappers."""
    obs_dim: int
    """Size of the flattened observation."""
    num_actions: int
    max_episode_steps: int
    """Longest episode: the env's time limit, or its own declared horizon."""
    reward_values: tuple[float, ...] | None
    """The finite set of rewards a step can give when the env says so (the T-Maze, or any env
    with "memup.reward_values" in its metadata), else None: the learner reads the set off a
    first batch of stored episodes."""
    reports_success: bool = False
    """Each episode's last `info` holds `success` (the T-Maze, or an env with
    "memup.reports_success" in its metadata): success rates are exact, and IMPALA may stop once
    greedy success reaches its target."""
    junction_cue: bool = False
    """The last step's outcome is decided by a cue shown at step 0 and nothing else (the T-Maze):
    phase I scores the junction, phase II probes the cue and streams its greedy evaluation
    (`envs.open_loop_episodes`)."""
    corridor_length: int | None = None
    """The length the env is made at, which `at_length` changes (its `corridor_length` keyword
    argument, declared as "memup.corridor_length" in metadata); None where it has none."""

    @property
    def label(self) -> str:
        """A short name for reports: the id, or `Noisy T-Maze L=1000` for the maze."""
        return self.config.label

    @classmethod
    def from_plain(cls, data: Any) -> EnvSpec:
        """From a preset's `env:` section (or an `EnvConfig`): checked and described."""
        return data if isinstance(data, EnvSpec) else describe_env(EnvConfig.from_plain(data))

    def to_plain(self) -> dict[str, Any]:
        return self.config.to_plain()

    def with_kwargs(self, changes: Mapping[str, Any]) -> EnvSpec:
        """The same env with some keyword arguments replaced, described again."""
        return describe_env(self.config.with_kwargs(changes)) if changes else self

    def at_length(self, corridor_length: int, length_jitter: int | None = None) -> EnvSpec:
        """The same env at another corridor length (and jitter J: T = L + U, U ≤ J; None keeps
        it); an error for an env without one."""
        if self.corridor_length is None:
            raise ValueError(f"{self.label} has no corridor length to change")
        changes: dict[str, Any] = {"corridor_length": corridor_length}
        if length_jitter is not None:
            changes["length_jitter"] = length_jitter
        return self.with_kwargs(changes)


def tmaze_spec(corridor_length: int, **settings: Any) -> EnvSpec:
    """The Noisy T-Maze's spec: `tmaze_spec(1000, length_jitter=0)` (settings: `TMazeConfig`)."""
    return describe_env(EnvConfig(TMAZE_ID, {"corridor_length": corridor_length, **settings}))


def describe_env(config: EnvConfig) -> EnvSpec:
    """Checks the id, the action space and the observation space; raises `EnvSetupError`."""
    if config.is_tmaze:
        tmaze = config.tmaze
        return EnvSpec(config, OBS_DIM, NUM_ACTIONS, tmaze.max_episode_steps,
                       (float(tmaze.failure_reward), 0.0, float(tmaze.success_reward)),
                       reports_success=True, junction_cue=True,
                       corridor_length=tmaze.corridor_length)
    single = make_raw_env(config)
    try:
        action_space = single.action_space
        if not isinstance(action_space, gym.spaces.Discrete) or action_space.start != 0:
            raise EnvSetupError(
                f"env {config.id}: its action space is {action_space}; MemUP-RL needs a "
                "Discrete(n) action space starting at 0 (wrap continuous control with a "
                "discretising action wrapper)")
        try:
            obs_dim = flat_size(single.observation_space)
        except UnflattenableSpaceError as error:
            raise EnvSetupError(
                f"env {config.id}: {error} (name such a wrapper in env.wrappers as "
                "'module:Class', e.g. minigrid.wrappers:ImgObsWrapper for MiniGrid)") from None
        declared = _declared(config, single)
        return EnvSpec(config, obs_dim, int(action_space.n), _horizon(single), **declared)
    finally:
        single.close()


def _declared(config: EnvConfig, env: gym.Env) -> dict[str, Any]:
    """What an env says of itself in `metadata` ("memup.reports_success", "memup.reward_values",
    "memup.corridor_length"), for any id; nothing for an env that says nothing."""
    metadata = env.unwrapped.metadata or {}
    reward_values = metadata.get("memup.reward_values")
    if reward_values is not None and not config.wrappers:
        reward_values = tuple(float(r) for r in reward_values)
    else:
        # A wrapper may rescale the rewards the env declares.
        reward_values = None
    length = metadata.get("memup.corridor_length")
    return {
        "reward_values": reward_values,
        "reports_success": metadata.get("memup.reports_success") is True,
        "corridor_length": length if is_int(length) and length > 0 else None,
    }


def _horizon(env: gym.Env) -> int:
    if env.spec is not None and env.spec.max_episode_steps:
        return int(env.spec.max_episode_steps)
    for name in ("max_episode_length", "max_steps", "max_episode_steps"):
        value = getattr(env.unwrapped, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_EPISODE_STEPS
