"""Which phases a resumed run skips: those whose artifact and figures were both saved."""

from pathlib import Path

from app.pipeline import finished


def test_a_phase_counts_as_finished_only_once_its_figures_are_saved(tmp_path: Path) -> None:
    policy = tmp_path / "policy" / "metadata.json"
    policy.parent.mkdir()
    policy.write_text("{}")
    figures = {"memup/updates": 500, "impala/env_steps": 4096}
    assert finished(True, policy, figures, "impala/env_steps")
    assert not finished(False, policy, figures, "impala/env_steps")  # a fresh run redoes all
    # Stopped between saving the policy and saving its figures: the phase runs again, so the
    # resumed run's report is never missing a phase it skipped.
    assert not finished(True, policy, {"memup/updates": 500}, "impala/env_steps")
    assert not finished(True, tmp_path / "memory.pt", figures, "memup/updates")
