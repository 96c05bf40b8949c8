"""Where metrics go: a JSONL file in the run dir and `ray.util.metrics` gauges.

Keys are namespaced (`memup/loss`, `collector/steps_per_s`, ...). Any phase can reuse both:

    writer = MetricsWriter(run_dir / "metrics.jsonl")
    gauges = RayGaugeExporter("memup_learner")          # no-op outside a Ray worker/driver
    writer.write(step, metrics); gauges.export(metrics)
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import sys
import time
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # 0-d numpy arrays and torch tensors
        return _plain(value.item())
    return str(value)


class MetricsWriter:
    """Appends one JSON object per `write`: {"step", "time", **metrics}; flushed every line."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        record = {"step": int(step), "time": time.time()}
        record.update({key: _plain(value) for key, value in metrics.items()})
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every record of a metrics file, in order."""
    with Path(path).open(encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def gauge_name(prefix: str, key: str) -> str:
    """`memup/junction_accuracy` under prefix `memup_learner`: `memup_learner_junction_accuracy`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", f"{prefix}_{key.split('/', 1)[-1]}")


class RayGaugeExporter:
    """Sets one `ray.util.metrics.Gauge` per numeric metric (created on first sight).

    Only active when Ray is already imported and initialised in this process, so plain scripts
    and unit tests never start or import Ray through it.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._gauges: dict[str, Any] = {}
        ray = sys.modules.get("ray")
        self.active = ray is not None and ray.is_initialized()

    def export(self, metrics: dict[str, Any]) -> None:
        if not self.active:
            return
        from ray.util.metrics import Gauge

        for key, value in metrics.items():
            value = _plain(value)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            name = gauge_name(self.prefix, key)
            if name not in self._gauges:
                self._gauges[name] = Gauge(name, description=f"{key} (MemUP-RL)")
            self._gauges[name].set(float(value))
