"""The online loop solves the short Detour T-Maze (configs/detour-tmaze-short.yaml; about ten
minutes on 2 cores, `make test-slow`): a random policy never brings the cue to the junction;
the exploring EnvRunners' episodes teach memory and heads to go back for the cue.

Two-phase with the same exploration solved it in one of two runs too (docs/results.md §7), so
this test does not claim that online beats it."""

from pathlib import Path

from cli_runs import memup_train

ROOT = Path(__file__).resolve().parents[2]
PRESET = ROOT / "configs" / "detour-tmaze-short.yaml"


def test_the_online_loop_solves_the_short_detour(tmp_path):
    figures = memup_train(PRESET, tmp_path / "online", timeout_s=3600)
    assert figures["impala/success_rate"] >= 0.99, figures
    assert figures["online/memory_versions"] >= 10
