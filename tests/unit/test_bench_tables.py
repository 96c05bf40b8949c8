"""The benchmark tables print what their rows hold, and POPGym's figures with their mark."""

import json

from bench.online_table import markdown_table
from bench.popgym import REFERENCE, reference_cell


def test_popgym_reference_holds_the_second_hand_figures_and_says_so():
    reference = json.loads(REFERENCE.read_text())
    assert reference["second_hand"] and "Second-hand" in reference["source"]["provenance"]
    count_recall = reference["tasks"]["popgym-CountRecallEasy-v0"]
    assert count_recall["GRU"]["mmer"] == 0.177 and count_recall["best"]["model"] == "LSTM"
    assert reference_cell(count_recall) == "0.177† / 0.509† / 0.509† (LSTM)"
    assert reference_cell({}) == "n/a / n/a / n/a"


def row(mode, seed, mmer, **extra):
    return {"task": "popgym-repeat-first-medium", "env_id": "popgym-RepeatFirstMedium-v0",
            "mode": mode, "seed": seed, "mmer": mmer, "greedy_return": mmer - 0.01,
            "env_steps": 1000, "run_wall_s": 60.0, **extra}


def test_online_table_averages_seeds_per_mode_and_takes_the_baseline_from_two_phase():
    rows = [row("two-phase", 0, 0.9, baseline_mmer=-0.3, baseline_greedy_return=-0.4,
                baseline_env_steps=1000),
            row("two-phase", 1, 0.7, baseline_mmer=-0.5, baseline_greedy_return=-0.4,
                baseline_env_steps=1000),
            row("online", 0, 1.0)]
    reference = json.loads(REFERENCE.read_text())
    header, rule, line = markdown_table(rows, reference)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[0] == "popgym-repeat-first-medium"
    assert cells[1] == "0.800 / 0.790 (2 seeds, 1,000 steps, 60 s)"
    assert cells[2] == "1.000 / 0.990 (1 seed, 1,000 steps, 60 s)"
    assert cells[3] == "–"  # online + fine-tuned memory not run yet
    assert cells[4] == "-0.400 / -0.400 (2 seeds, 1,000 steps)"
    assert cells[5] == "1.000† / n/a / 1.000† (GRU)"
    assert header.count("|") == rule.count("|")
