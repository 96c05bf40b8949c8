"""`make train-distributed` checks the preset here before anything is submitted."""

from __future__ import annotations

import pytest

from app import submit


def test_a_bad_preset_is_refused_before_submitting(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t")
    monkeypatch.setattr(submit, "submit", lambda *_: pytest.fail("submitted"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: {corridor_length: 8}\ncollect: {num_env: 4}\n")
    for config, expected in ((bad, "collect.num_env: unknown key"),
                             (tmp_path / "none.yaml", "does not exist")):
        code = submit.main(["--cluster", "", "--address", "http://127.0.0.1:1",
                            "--config", str(config), "--run-name", "r"])
        assert code == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and "bad config" in error and expected in error
