"""`make train-distributed`'s submitting side: the token, the store check, the job's command."""

from __future__ import annotations

from app import submit


def test_the_job_runs_the_named_interpreter_with_the_heads_store() -> None:
    command = submit.entrypoint("~/memup-rl/.venv/bin/python", "configs/smoke.yaml", "r1",
                                ["--baseline"])
    assert 'test -s "$HOME/memup-redis/url"' in command
    assert 'MEMUP_REDIS_URL="$(cat "$HOME/memup-redis/url")"' in command
    assert "exec $HOME/memup-rl/.venv/bin/python -m app.cli train" in command
    assert command.endswith("--run-dir $HOME/memup-runs/r1 --baseline")


def test_no_token_fails_before_submitting(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    code = submit.main(["--address", "http://127.0.0.1:1", "--config", "c.yaml",
                        "--run-name", "r"])
    assert code == 2
    assert "no Ray token at ~/.ray/auth_token" in capsys.readouterr().err


def test_a_cluster_whose_head_is_unreachable_is_not_submitted_to(tmp_path, monkeypatch,
                                                                 capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the launcher caches the yaml there
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("t")
    missing = tmp_path / "nowhere.yaml"
    missing.write_text("cluster_name: x\nprovider: {type: local, head_ip: 192.0.2.1, "
                       "worker_ips: []}\nauth: {ssh_user: nobody}\n")
    code = submit.main(["--cluster", str(missing), "--address", "http://127.0.0.1:1",
                        "--config", "c.yaml", "--run-name", "r"])
    assert code == 2
    assert "no store URL" in capsys.readouterr().err
