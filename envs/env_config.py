"""Which gymnasium env a run uses: a preset's `env:` section (docs/design.md §11).

    env:                                   env:
      id: popgym-RepeatFirstEasy-v0          corridor_length: 1000   # the T-Maze, as always
      kwargs: {}                             length_jitter: 10
      import: popgym
      wrappers: []       # "module:Class" gymnasium wrappers applied in order after make

A MiniGrid env names `minigrid.wrappers:ImgObsWrapper` there, as its mission text has no
fixed-size vector form.

A section with none of `id`, `kwargs`, `import` holds the Noisy T-Maze's keyword arguments, so
every T-Maze preset reads as it always did (and is written back the same way).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from envs.config import TMazeConfig

TMAZE_ID = "memup/NoisyTMaze-v0"
_SECTION_KEYS = ("id", "kwargs", "import", "wrappers")


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """A registered gymnasium id, its `gymnasium.make` keyword arguments, and the modules to
    import first so that the id is registered."""

    id: str = TMAZE_ID
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    imports: tuple[str, ...] = ()
    wrappers: tuple[str, ...] = ()
    """Gymnasium wrappers as "module:Class", applied in order to each env after make."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"env.id must be a gymnasium id such as {TMAZE_ID!r}, got {self.id!r}")
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(f"env.kwargs must be a mapping, got {self.kwargs!r}")
        try:
            json.dumps(dict(self.kwargs))
        except (TypeError, ValueError):
            raise ValueError(f"env.kwargs must hold plain values (numbers, strings, lists, "
                             f"mappings) that episodes can record, got {self.kwargs!r}") from None
        imports = (self.imports,) if isinstance(self.imports, str) else tuple(self.imports)
        if not all(isinstance(m, str) and m for m in imports):
            raise ValueError(f"env.import must be a module name or a list of them, "
                             f"got {self.imports!r}")
        wrappers = (self.wrappers,) if isinstance(self.wrappers, str) else tuple(self.wrappers)
        if not all(isinstance(w, str) and w.count(":") == 1 for w in wrappers):
            raise ValueError(f"env.wrappers must list gymnasium wrappers as 'module:Class', "
                             f"got {self.wrappers!r}")
        object.__setattr__(self, "wrappers", wrappers)
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        object.__setattr__(self, "imports", imports)
        if self.is_tmaze:
            self.tmaze  # noqa: B018 - validates the maze's keyword arguments now

    @classmethod
    def from_plain(cls, data: Any) -> EnvConfig:
        """From a preset's section: `{id, kwargs, import}` or the T-Maze's own keys."""
        if isinstance(data, EnvConfig):
            return data
        if isinstance(data, TMazeConfig):
            return cls(TMAZE_ID, data.env_kwargs())
        if not isinstance(data, Mapping):
            raise ValueError(f"env: expected a mapping of settings, got {type(data).__name__}")
        if not any(key in data for key in _SECTION_KEYS):
            return cls(TMAZE_ID, dict(data))
        unknown = sorted(set(data) - set(_SECTION_KEYS) - {"imports"})
        if unknown:
            raise ValueError(f"env.{unknown[0]}: unknown key (an env section holds id, kwargs, "
                             "import and wrappers; the env's own arguments go under kwargs)")
        imports = data.get("import", data.get("imports", ()))
        return cls(data.get("id", TMAZE_ID), data.get("kwargs") or {}, imports or (),
                   data.get("wrappers") or ())

    def to_plain(self) -> dict[str, Any]:
        if self.is_tmaze:
            return dict(self.kwargs)
        plain: dict[str, Any] = {"id": self.id, "kwargs": dict(self.kwargs)}
        if self.imports:
            plain["import"] = list(self.imports)
        if self.wrappers:
            plain["wrappers"] = list(self.wrappers)
        return plain

    def with_kwargs(self, changes: Mapping[str, Any]) -> EnvConfig:
        """The same env with some of its keyword arguments replaced (validated as any other)."""
        return dataclasses.replace(self, kwargs={**self.kwargs, **changes})

    @property
    def is_tmaze(self) -> bool:
        return self.id == TMAZE_ID

    @property
    def tmaze(self) -> TMazeConfig:
        """The Noisy T-Maze's settings; an error for any other env."""
        if not self.is_tmaze:
            raise ValueError(f"{self.id} is not the Noisy T-Maze: this needs env.id {TMAZE_ID}")
        known = [f.name for f in dataclasses.fields(TMazeConfig)]
        unknown = sorted(set(self.kwargs) - set(known))
        if unknown:
            raise ValueError(f"env.{unknown[0]}: unknown key (the Noisy T-Maze takes "
                             f"{', '.join(known)}; another env is named by env.id)")
        if "corridor_length" not in self.kwargs:
            raise ValueError("env.corridor_length: required key is missing (or name another "
                             "env with env.id)")
        return TMazeConfig(**self.kwargs)

    @property
    def label(self) -> str:
        """A short name for reports: the id, or `T-Maze L=1000` for the maze."""
        if self.is_tmaze:
            return f"Noisy T-Maze L={self.tmaze.corridor_length}"
        return self.id

