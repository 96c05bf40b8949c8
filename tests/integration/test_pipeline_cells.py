"""`memup train` with each cell that is not the smoke preset's own LSTM: phase I trains it,
IMPALA carries its state between fragments, the saved policy holds it (docs/design.md §6)."""

from pathlib import Path

import pytest
import yaml
from cli_runs import memup_train

from memup_module import load_memory
from memup_module.rl_module import load_policy

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "smoke.yaml"


# A stepped cell written here and a POPGym model (the fused torch RNNs run in every other
# pipeline test; the LSTM by default): every
# cell passed this once (docs/results.md §8); the interface tests cover all of them.
@pytest.mark.parametrize("cell", ["rim", "popgym_lmu"])
def test_every_phase_runs_with_the_cell(cell, tmp_path):
    preset = yaml.safe_load(SMOKE.read_text())
    preset["memup"]["memory"]["cell"] = cell
    preset["baseline"] = False
    config = tmp_path / "preset.yaml"
    config.write_text(yaml.safe_dump(preset))
    run_dir = tmp_path / "run"
    figures = memup_train(config, run_dir)
    assert figures["memup/updates"] >= 100 and "impala/success_rate" in figures
    memory = load_memory(run_dir / "memup" / "memory.pt", expect_cell=cell)
    policy = load_policy(run_dir / "policy")
    assert policy.memory.config == memory.config
    assert tuple(policy.get_initial_state()) == memory.state_keys
