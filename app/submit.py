"""`make train-distributed`: `memup train` on the cluster, submitted as a Ray Job.

    python -m app.submit --cluster cluster.yaml --address http://127.0.0.1:8265 \\
        --config configs/smoke.yaml --run-name smoke-1 [-- --baseline]

Before submitting it checks, over the cluster launcher's SSH, that the head's store is up
(`~/memup-redis/url`, left there by `memup node start --head`); the job reads that URL on the
head, so the password never travels in the job's settings or logs. The job runs the cluster's
interpreter by name (`--python`): inside a Ray Job a bare `python` is whatever the node's login
shell puts first. `ray job submit` gets the token authentication mode; the token itself is
~/.ray/auth_token, the same file `make cluster-up` copied to every node. The preset is checked
here too, so that a bad one fails before anything is submitted.

    python -m app.submit --prepare-mounts cluster.yaml     # `make cluster-up`, before `ray up`

clears the yaml's file mounts of what ends `ray up` (`prepare_mounts`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from app.cluster_node import REDIS_DIR
from app.supervisor import one_line
from trajectory_store.serve import URL_FILE

# Where `memup node start --head` leaves the store's URL, as the head's shell spells it.
STORE_URL_FILE = f"{str(REDIS_DIR).replace('~', '$HOME', 1)}/{URL_FILE}"
RUNS_DIR = "$HOME/memup-runs"
# Ray leaves out .git and .venv by itself (and says so if they are listed again).
EXCLUDES = ["runs", ".pytest_cache", ".hypothesis", "bench/results"]


class SubmitError(RuntimeError):
    """The job cannot be submitted; the message says what to fix."""


def _ray() -> str:
    return str(Path(sys.executable).parent / "ray")


def check_token() -> None:
    token_file = Path("~/.ray/auth_token").expanduser()
    if not token_file.is_file() and not os.environ.get("RAY_AUTH_TOKEN"):
        raise SubmitError("no Ray token at ~/.ray/auth_token: the cluster runs with token "
                          "authentication; `make cluster-up` creates the token and copies it to "
                          "every node (or set RAY_AUTH_TOKEN to the cluster's token)")


def check_store(cluster_yaml: str) -> None:
    """Fails unless the head of `cluster_yaml` has its store's URL file."""
    found = subprocess.run(
        [_ray(), "exec", cluster_yaml, f"test -s {STORE_URL_FILE}"],
        capture_output=True, text=True,
    )
    if found.returncode != 0:
        raise SubmitError(
            f"the head of {cluster_yaml} has no store URL at ~/memup-redis/url: its Redis is "
            f"not running. Restart the head's services with `ray up -y --restart-only "
            f"{cluster_yaml}` (it runs `memup node start --head`), then submit again"
        )


def check_config(path: str) -> None:
    """The preset loads here as the job will load it (same code, same relative path)."""
    from app.config import ConfigError, load_config

    try:
        load_config(path)
    except ConfigError as error:
        raise SubmitError(f"bad config: {one_line(error)}") from None


def prepare_mounts(cluster_yaml: str) -> list[Path]:
    """Before `ray up`: Ray hashes every file under each local file mount, opening each one
    (its walk ignores rsync_exclude), so a dangling symlink anywhere there, typically
    runs/latest after its run dir was deleted, ends `ray up` with FileNotFoundError. Removes
    the dangling links named `latest` (`RunDir.link_latest` makes them); any other one is an
    error naming it. Returns the links removed."""
    try:
        config = yaml.safe_load(Path(cluster_yaml).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SubmitError(f"cannot read the cluster yaml {cluster_yaml} "
                          f"({getattr(error, 'strerror', None) or one_line(error)}): pass "
                          "CLUSTER=<cluster yaml>") from None
    removed = []
    for local in (config.get("file_mounts") or {}).values():
        root = Path(str(local)).expanduser()
        for folder, _, files in os.walk(root) if root.is_dir() else ():
            for path in (Path(folder) / name for name in files):
                if not path.is_symlink() or path.exists():
                    continue
                if path.name != "latest":
                    raise SubmitError(f"{path} is a broken symlink inside the file mount "
                                      f"{local} of {cluster_yaml}, and `ray up` reads every file "
                                      "there: remove it or point it at a file")
                path.unlink()
                removed.append(path)
    return removed


def entrypoint(python: str, config: str, run_name: str, args: list[str]) -> str:
    """The job's shell command: read the store URL on the head, then run the cluster's
    interpreter by name."""
    python = python.replace("~/", "$HOME/", 1) if python.startswith("~/") else python
    train = " ".join([python, "-m", "app.cli", "train", "--config", shlex.quote(config),
                      "--run-dir", f"{RUNS_DIR}/{shlex.quote(run_name)}",
                      *map(shlex.quote, args)])
    missing = ("echo 'memup: no store URL at ~/memup-redis/url on the head: start the store "
               "with `memup node start --head` (cluster.yaml does)' >&2; exit 2")
    return (f'test -s "{STORE_URL_FILE}" || {{ {missing}; }}; '
            f'MEMUP_REDIS_URL="$(cat "{STORE_URL_FILE}")" exec {train}')


def submit(address: str, command: str) -> int:
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    runtime_env = json.dumps({"excludes": EXCLUDES})
    return subprocess.run(
        [_ray(), "job", "submit", "--address", address, "--working-dir", ".",
         "--runtime-env-json", runtime_env, "--", "bash", "-c", command],
        env=env,
    ).returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--prepare-mounts"] and len(argv) == 2:
        try:
            for path in prepare_mounts(argv[1]):
                print(f"make cluster-up: removed {path}, a link to a deleted run dir")
        except SubmitError as error:
            print(f"make cluster-up: {error}", file=sys.stderr)
            return 2
        return 0
    parser = argparse.ArgumentParser(prog="train-distributed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", default="",
                        help="the cluster's yaml, to check its head before submitting "
                             "('' for a cluster you started without one)")
    parser.add_argument("--address", required=True,
                        help="the dashboard, e.g. http://127.0.0.1:8265")
    parser.add_argument("--python", default="~/memup-rl/.venv/bin/python",
                        help="the interpreter on the head (the one the yamls install)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--run-name", required=True)
    parser.add_argument("train_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        check_token()
        if args.cluster:
            check_store(args.cluster)
        check_config(args.config)
    except SubmitError as error:
        print(f"make train-distributed: {error}", file=sys.stderr)
        return 2
    train_args = [a for a in args.train_args if a != "--"]
    return submit(args.address, entrypoint(args.python, args.config, args.run_name, train_args))


if __name__ == "__main__":
    sys.exit(main())
