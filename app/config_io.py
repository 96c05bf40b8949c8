"""Frozen config dataclasses from YAML and back, with errors that name the offending key."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override that cannot become a valid config; the message says what to fix."""


def build(cls: type[T], data: Any, where: str = "") -> T:
    """Builds dataclass `cls` from a mapping; nested dataclass fields recurse."""
    label = where or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: expected a mapping of settings, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{_join(where, unknown[0])}: unknown key (known keys: {known})")
    missing = [
        name for name, f in fields.items()
        if name not in data
        and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{_join(where, missing[0])}: required key is missing")
    values = {}
    for name, value in data.items():
        nested = _dataclass_type(hints[name])
        key = _join(where, name)
        if nested is not None and hasattr(nested, "from_plain"):
            values[name] = _from_plain(nested, value, key)
        elif nested is not None:
            values[name] = build(nested, value, key)
        else:
            values[name] = _coerce(value, hints[name], key)
    try:
        return cls(**values)
    except ValueError as error:
        raise ConfigError(f"{label}: {error}") from None


def to_plain(config: Any) -> Any:
    """Dataclasses, tuples and paths as plain YAML/JSON values."""
    if dataclasses.is_dataclass(config) and hasattr(config, "to_plain"):
        return config.to_plain()
    if dataclasses.is_dataclass(config):
        return {f.name: to_plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_plain(v) for v in config]
    if isinstance(config, Path):
        return str(config)
    return config


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (presets live in configs/)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    return data


def dump_yaml(config: Any, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_plain(config), sort_keys=False))


def _from_plain(cls: type[T], value: Any, key: str) -> T:
    """A section with a form of its own (e.g. `env:`) reads itself."""
    try:
        return cls.from_plain(value)
    except ValueError as error:
        message = str(error)
        raise ConfigError(message if message.startswith(key) else f"{key}: {message}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _dataclass_type(hint: Any) -> type | None:
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """YAML reads 1e-3 as a string and [a, b] as a list: fix those two, check the rest."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType):
        hint = next((a for a in args if a is not type(None)), hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value
