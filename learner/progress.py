"""Progress bars that read well wherever the loop runs.

    with progress_bar(total=1000, desc="memup", unit="upd") as bar:
        bar.update(1); bar.set_postfix(loss="0.12")

In the driver it is tqdm. Inside a Ray actor it is Ray's `tqdm_ray`, which the driver draws as
one bar: plain tqdm there sends every refresh through Ray's log forwarding, one empty
`(MemUPLearner pid=...)` line each.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm


def _inside_ray_actor() -> bool:
    try:
        import ray

        return ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None
    except (ImportError, RuntimeError):
        return False


class _RayBar:
    """`tqdm_ray` with the part of tqdm's interface the phases use."""

    disable = False

    def __init__(self, total: int, desc: str, unit: str, initial: int) -> None:
        from ray.experimental import tqdm_ray

        self._desc = desc
        self._bar = tqdm_ray.tqdm(total=total, desc=desc, unit=unit)
        if initial:
            self._bar.update(initial)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def set_postfix(self, **values: Any) -> None:
        shown = " ".join(f"{key}={value}" for key, value in values.items())
        self._bar.set_description(f"{self._desc} {shown}")

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> "_RayBar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(*, total: int, desc: str, unit: str, initial: int = 0,
                 enabled: bool = True) -> Any:
    """A tqdm-like bar (update, set_postfix, close, `disable`, context manager)."""
    if enabled and _inside_ray_actor():
        return _RayBar(total, desc, unit, initial)
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not enabled)
