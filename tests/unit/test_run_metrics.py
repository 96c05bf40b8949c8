"""Metrics to JSONL and to Ray gauges."""

import json

import numpy as np
import torch

from learner.metrics import MetricsWriter, RayGaugeExporter, gauge_name, read_metrics


def test_writer_appends_plain_json_lines(tmp_path):
    path = tmp_path / "run" / "metrics.jsonl"
    with MetricsWriter(path) as writer:
        writer.write(1, {"memup/loss": torch.tensor(0.5), "memup/step": np.int64(1)})
    with MetricsWriter(path) as writer:  # a resumed run appends
        writer.write(2, {"memup/loss": float("nan"), "memup/reached_target": True})
    records = read_metrics(path)
    assert [r["step"] for r in records] == [1, 2]
    assert records[0]["memup/loss"] == 0.5 and records[0]["memup/step"] == 1
    assert records[1]["memup/loss"] is None and records[1]["memup/reached_target"] is True
    assert all(isinstance(json.loads(line)["time"], float) for line in path.read_text().split("\n")
               if line)


def test_gauge_names():
    assert gauge_name("memup_learner", "memup/junction_accuracy") == \
        "memup_learner_junction_accuracy"
    assert gauge_name("memup_collector", "collector/steps-per-s") == \
        "memup_collector_steps_per_s"


def test_gauges_are_a_no_op_outside_ray():
    exporter = RayGaugeExporter("memup_learner")
    assert not exporter.active
    exporter.export({"memup/loss": 1.0})
