"""The packages stack as the data flows (docs/design.md §2): envs → trajectory_store → actors →
memup_module → learner → app → bench. A module imports only from its own layer or the ones
below it, so lower layers never reach up into the application; the two phases never import
each other, and the env is the T-Maze only inside `envs`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("envs", "trajectory_store", "actors", "memup_module", "learner", "app", "bench")
PHASES = ("learner.memup", "learner.impala")


def imports_of(path: Path) -> set[str]:
    """Every module name `path` imports (at any depth, TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    """The package's own modules: not those of a virtual environment a bench made inside it
    (bench/.venv-sample-factory)."""
    base = ROOT / package
    return sorted(path for path in base.rglob("*.py")
                  if not any(part.startswith(".") for part in path.relative_to(base).parts))


def edges() -> set[tuple[str, str, str]]:
    """(importing file, its package, imported package) between different top-level packages."""
    found = set()
    for package in LAYERS:
        for path in modules(package):
            for name in imports_of(path):
                target = name.split(".")[0]
                if target in LAYERS and target != package:
                    found.add((str(path.relative_to(ROOT)), package, target))
    return found


def test_every_layer_exists():
    assert all((ROOT / package / "__init__.py").is_file() for package in LAYERS)


def test_no_package_imports_a_layer_above_it():
    upward = sorted(f"{path} imports {target}" for path, package, target in edges()
                    if LAYERS.index(target) > LAYERS.index(package))
    assert upward == []


def test_the_application_is_used_by_nothing_below_it():
    assert not [path for path, package, target in edges()
                if target == "app" and package != "bench"]


@pytest.mark.parametrize("phase", PHASES)
def test_the_phases_do_not_import_each_other(phase):
    other = next(p for p in PHASES if p != phase)
    folder = ROOT / Path(*phase.split("."))
    offenders = [str(path.relative_to(ROOT)) for path in sorted(folder.rglob("*.py"))
                 if any(name == other or name.startswith(other + ".")
                        for name in imports_of(path))]
    assert offenders == []


def test_no_cell_weights_are_read_outside_memup_module():
    # The module's math exists once: evaluators step it through `Memory.step`/`Head.step`.
    words = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", ".mlp[")
    offenders = [str(path.relative_to(ROOT)) for package in LAYERS if package != "memup_module"
                 for path in modules(package) if any(w in path.read_text() for w in words)]
    assert offenders == []


def test_tmaze_settings_stay_inside_envs():
    # Everything else asks the env spec (`reports_success`, `junction_cue`, `corridor_length`).
    words = ("TMazeConfig", "is_tmaze", ".tmaze.")
    offenders = [str(path.relative_to(ROOT)) for package in LAYERS
                 if package not in ("envs", "bench")
                 for path in modules(package) if any(w in path.read_text() for w in words)]
    assert offenders == []
