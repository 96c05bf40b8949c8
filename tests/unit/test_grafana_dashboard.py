"""The shipped Grafana dashboard plots metrics the project really exports, under the names
Prometheus gives them (`ray_` + the name given to `ray.util.metrics`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from learner.metrics import gauge_name

ROOT = Path(__file__).resolve().parents[2]
SOURCES = "\n".join(p.read_text() for folder in ("actors", "learner")
                    for p in (ROOT / folder).rglob("*.py"))
# What each exporter prefix stands for: learner gauges, IMPALA gauges.
PREFIXES = {"memup_learner": "memup/", "memup_impala": "impala/"}


def exported(metric: str) -> bool:
    if f'"{metric}"' in SOURCES:  # a counter, named in full
        return True
    for prefix, namespace in PREFIXES.items():
        if metric.startswith(prefix + "_"):
            key = namespace + metric[len(prefix) + 1:]
            return gauge_name(prefix, key) == metric and f'"{key}"' in SOURCES
    return False


def test_every_panel_plots_an_exported_metric() -> None:
    dashboard = json.loads((ROOT / "configs" / "grafana" / "memup_dashboard.json").read_text())
    metrics = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bray_(memup_\w+)", target["expr"])}
    assert len(metrics) >= 8
    missing = sorted(m for m in metrics if not exported(m))
    assert not missing, f"the dashboard plots metrics nothing exports: {missing}"
