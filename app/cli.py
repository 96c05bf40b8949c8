"""The `memup` command line: collect, pretrain, policy, train (all phases) and evaluate.

An error the user can fix (a path, a flag, a preset, MEMUP_REDIS_URL, RAY_ADDRESS) ends as one
line `memup: error: ...` naming the fix, exit status 2, no traceback: the project's errors of
that kind (`USER_ERRORS`, `UserError` among them) are caught once, in `main`. What a Ray
command is given is checked before Ray, or even its child process, starts (`_check_inputs`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import traceback
from pathlib import Path

from app import services, supervisor
from app.cluster_node import REDIS_PORT
from app.config import ConfigError, RunConfig, load_config, save_config
from app.ray_failures import ray_loss, resume_hint
from app.supervisor import UserError, one_line
from learner.run_dir import RunDir, RunDirError
from trajectory_store.errors import EmbeddedRedisError

log = logging.getLogger("memup")
# Commands that run Ray: they run in a child process that a parent watches (app.supervisor).
SUPERVISED = ("collect", "pretrain", "policy", "train")
STORE_COMMANDS = ("collect", "pretrain", "train")
# Errors whose message names the fix: printed as one line. (MissingMemoryError is a
# FileNotFoundError; EmbeddedRedisError: no redis-server, or one already on the run's data.)
USER_ERRORS = (UserError, ConfigError, RunDirError, FileNotFoundError, EmbeddedRedisError)


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors as one line that points at --help."""

    def error(self, message: str):
        self.exit(supervisor.BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} "
                  "--help`)\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="preset YAML, e.g. configs/smoke.yaml")
    parser.add_argument("--run-dir", type=Path, help="run directory (default runs/<name>-<time>)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="start the local Ray without its dashboard (faster start)")


def cmd_collect(args: argparse.Namespace) -> int:
    from app.collect import ensure_episodes
    from app.services import ray_for_run, redis_for_run

    config, run, _ = _prepare_run(args)
    with redis_for_run(run.redis) as url, ray_for_run(dashboard=not args.no_dashboard):
        stats = ensure_episodes(config, run, url)
    print(json.dumps(stats.as_metrics(), indent=2))
    return 0


def _prepare_run(args: argparse.Namespace) -> tuple[RunConfig, RunDir, bool]:
    """Loads the config and checks every input before any work, then creates the run dir and
    saves config.yaml."""
    config = load_config(args.config)
    run = _check_inputs(args, config)
    try:
        run = RunDir.create(run.root)
        save_config(config, run.config)
        run.link_latest()
    except OSError as error:  # not writable, a file in the way
        raise UserError(f"cannot set up the run dir {run.root} ({error.strerror or error}: "
                        f"{error.filename}): pick another --run-dir") from None
    args.resolved_run_dir = run.root  # for the --resume hint if Ray fails under the run
    return config, run, getattr(args, "resume", False)


def _check_inputs(args: argparse.Namespace, config: RunConfig) -> RunDir:
    """What a Ray command is given, checked before Ray starts and before anything is written:
    the run dir, --resume, the memory file, the store's URL and the Ray cluster's address."""
    given = args.run_dir
    run = RunDir(Path(given or RunDir.default_root(config.name)).resolve())
    if run.root.exists() and not run.root.is_dir():
        raise UserError(f"--run-dir {given} is a file, not a directory: pick another --run-dir")
    resume = getattr(args, "resume", False)
    if resume and given is None:
        raise UserError("--resume continues an earlier run: pass its --run-dir (runs/latest "
                        "links the newest)")
    if resume and not run.config.is_file():
        raise UserError(f"--resume: {given} holds no run to continue (no config.yaml): pass the "
                        "--run-dir of an earlier run, or drop --resume to start a new one")
    if hasattr(args, "resume") and not resume and run.memup.exists():
        raise RunDirError(f"{run.root} already holds a run: add --resume to continue it, or pick "
                          "another --run-dir")
    if args.command == "policy":
        _check_memory(Path(args.memory or run.memory), args, config, run)
    if args.command in STORE_COMMANDS:
        services.check_store()
    services.check_ray_address()
    return run


def _check_memory(path: Path, args: argparse.Namespace, config: RunConfig, run: RunDir) -> None:
    """The memory file `memup policy` starts from: there, a MemUP memory, sized for the env."""
    from memup_module.memory_io import load_memory

    if not path.is_file() and args.memory:
        raise UserError(f"no memory file at {path} (--memory): pass the memory.pt that `memup "
                        "pretrain` wrote (RUN_DIR/memup/memory.pt)")
    if not path.is_file():
        run_dir = run.root if args.run_dir else "RUN_DIR"
        raise UserError(f"no pretrained memory at {path}: run phase I first (`memup pretrain "
                        f"--config {args.config} --run-dir {run_dir}`) or pass --memory PATH to "
                        "a memory.pt")
    try:
        found = load_memory(path, expect_cell=config.memup.memory.cell).config
    except ValueError as error:  # memory_io's message names the file and what to pass instead
        raise UserError(one_line(error)) from None
    want = config.memup.memory
    if (found.obs_dim, found.num_actions) != (want.obs_dim, want.num_actions):
        raise UserError(
            f"{path} was pretrained on observations of {found.obs_dim} values and "
            f"{found.num_actions} actions, but {config.env.label} has {want.obs_dim} and "
            f"{want.num_actions}: pass a memory pretrained on this env (`memup pretrain --config "
            f"{args.config}`)")


def cmd_pretrain(args: argparse.Namespace) -> int:
    from app.collect import ensure_episodes
    from app.pipeline import pretrain
    from app.services import ray_for_run, redis_for_run

    config, run, _ = _prepare_run(args)
    with redis_for_run(run.redis) as url, ray_for_run(dashboard=not args.no_dashboard):
        ensure_episodes(config, run, url)
        figures = pretrain(config, run, url)
    print(json.dumps(figures, indent=2))
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    from app.pipeline import train_policy_phase
    from app.services import ray_for_run

    config, run, _ = _prepare_run(args)
    with ray_for_run(dashboard=not args.no_dashboard):
        figures = train_policy_phase(config, run, baseline=False, memory_path=args.memory)
        if args.baseline:
            figures.update(train_policy_phase(config, run, baseline=True, memory_path=args.memory))
    print(json.dumps(figures, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from app.pipeline import run_pipeline

    config, run, resume = _prepare_run(args)
    figures = run_pipeline(config, run, resume=resume, baseline=args.baseline or None,
                           dashboard=not args.no_dashboard)
    print(json.dumps(figures, indent=2))
    print(f"run dir: {run.root}\nreport:  {run.report}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Greedy success and the memory's cue accuracy of a trained run at other lengths."""
    import torch

    from app.length_eval import LengthEvalSettings, evaluate_run

    torch.set_num_threads(args.threads)
    run = RunDir(args.run_dir.expanduser().resolve())
    if not run.root.is_dir():
        raise RunDirError(f"no run dir at {args.run_dir}: train one with `memup train --config "
                          f"configs/<preset>.yaml --run-dir {args.run_dir}`")
    trained = load_config(run.config).env if run.config.is_file() else None
    if trained is not None and not trained.junction_cue:
        raise UserError(f"{args.run_dir} trained {trained.label}: `memup evaluate` tests the "
                        "Noisy T-Maze at other lengths; pass a T-Maze run")
    names = [f.name for f in dataclasses.fields(LengthEvalSettings)]
    try:
        settings = LengthEvalSettings(**{name: getattr(args, name) for name in names
                                         if hasattr(args, name)})
    except ValueError as error:
        raise UserError(f"{error}: see `memup evaluate --help`") from None
    evaluate_run(run, settings, echo=lambda line: print(line, flush=True))
    print(f"figures: {run.figures}\nreport:  {run.report}")
    return 0


def _at_least(minimum: int):
    """An argparse type: an integer >= `minimum` (1e6 and 1_000_000 accepted)."""

    def parse(text: str) -> int:
        try:
            value = float(text.replace("_", ""))
        except ValueError:
            value = float("nan")
        if not value.is_integer() or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return int(value)

    return parse


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    port = _at_least(1)(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, got {text!r}")
    return port


def cmd_serve_redis(args: argparse.Namespace) -> int:
    """Runs the store's Redis in the foreground (a cluster head starts it with nohup)."""
    from trajectory_store.serve import serve_redis

    services.check_listen(args.bind, args.port)
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return serve_redis(args.data_dir, port=args.port, bind=args.bind,
                           advertise_host=args.advertise_host)
    except (OSError, ValueError) as error:  # not writable, a file in the way, quotes in it
        raise UserError(f"cannot keep the store in --data-dir {args.data_dir} "
                        f"({getattr(error, 'strerror', None) or error}): pick another "
                        "--data-dir") from None


def cmd_node(args: argparse.Namespace) -> int:
    """Starts or stops this project's processes on a cluster node (see app.cluster_node)."""
    from app import cluster_node

    if args.action == "stop":
        stopped = cluster_node.stop()
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    if args.head == bool(args.address):
        raise UserError("`memup node start` takes either --head (the head node) or --address "
                        "HEAD_IP:PORT (a worker joining it)")
    # The yamls write `memup node start ... -- ray start ARGS` (Ray's launcher looks for
    # "ray start" in the start commands).
    ray_args = args.ray_args[2:] if args.ray_args[:2] == ["ray", "start"] else args.ray_args
    ip = cluster_node.start(head=args.head, address=args.address, ray_args=ray_args,
                            redis_port=args.redis_port)
    role = "head" if args.head else "worker"
    print(f"{role} node {ip} started (logs in {cluster_node.STATE_DIR}/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="memup", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    collect = commands.add_parser("collect", help="fill the run's trajectory store with episodes")
    _common(collect)
    collect.set_defaults(func=cmd_collect)

    pretrain = commands.add_parser("pretrain", help="collect if needed, then pretrain the memory")
    _common(pretrain)
    pretrain.add_argument("--resume", action="store_true", help="continue from the checkpoints")
    pretrain.set_defaults(func=cmd_pretrain)

    policy = commands.add_parser("policy", help="train the IMPALA policy on the pretrained memory")
    _common(policy)
    policy.add_argument("--memory", type=Path,
                        help="memory file (default: the run dir's pretrained memory)")
    policy.add_argument("--baseline", action="store_true",
                        help="also train the IMPALA-LSTM baseline with the same budget")
    policy.set_defaults(func=cmd_policy)

    train = commands.add_parser("train", help="every phase: collect, pretrain, IMPALA, report")
    _common(train)
    train.add_argument("--resume", action="store_true", help="continue an interrupted run")
    train.add_argument("--baseline", action="store_true",
                       help="also train the baseline (the preset's `baseline` otherwise)")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser(
        "evaluate", help="a trained run at other lengths: greedy success, the memory's cue "
        "accuracy; table into figures.json and report.md")
    evaluate.add_argument("--run-dir", type=Path, required=True, help="a `memup train` run dir")
    # Unset options take LengthEvalSettings' defaults.
    evaluate.add_argument("--corridor-length", type=_at_least(1), nargs="+", dest="lengths",
                          metavar="L", default=argparse.SUPPRESS,
                          help="lengths to test (default: the run's L, 10 L and 100 L)")
    evaluate.add_argument("--length-jitter", type=_at_least(0), default=argparse.SUPPRESS,
                          help="J of the test mazes, T = L + U with U <= J (default: the run's)")
    evaluate.add_argument("--episodes", type=_at_least(1), default=argparse.SUPPRESS,
                          help="held-out episodes per length, stepped together (default 64)")
    evaluate.add_argument("--probe-episodes", type=_at_least(2), default=argparse.SUPPRESS,
                          help="episodes at the run's L the cue probe is fitted on (default 256)")
    evaluate.add_argument("--seed", type=_at_least(0), default=argparse.SUPPRESS,
                          help="seed of the held-out episodes; the probe's is seed + 1")
    evaluate.add_argument("--baseline", action="store_true", help="also the baseline policy")
    evaluate.add_argument("--workers", type=_at_least(1), default=argparse.SUPPRESS,
                          help="processes sharing the episodes of a long run (default: one per "
                          "usable core)")
    evaluate.add_argument("--threads", type=_at_least(1), default=1,
                          help="torch threads (default 1: on a shared 2-core machine 2 threads "
                          "measured 5x slower per step)")
    evaluate.set_defaults(func=cmd_evaluate)

    serve = commands.add_parser("serve-redis", help="run the store's Redis (cluster head)")
    serve.add_argument("--data-dir", type=Path, required=True)
    serve.add_argument("--bind", default="127.0.0.1")
    serve.add_argument("--port", type=_port)
    serve.add_argument("--advertise-host", help="host put in the URL (the head's address)")
    serve.set_defaults(func=cmd_serve_redis)

    node = commands.add_parser("node", help="start/stop this project's Ray (and Redis) on a "
                               "cluster node, by pid; cluster.yaml runs it",
                               usage="memup node {start,stop} [--head | --address HOST:PORT] "
                                     "[-- ray start ARGS]")
    node.add_argument("action", choices=["start", "stop"])
    node.add_argument("--head", action="store_true", help="the head: also the store's Redis")
    node.add_argument("--address", help="a worker: the head's HOST:PORT")
    node.add_argument("--redis-port", type=_port, default=REDIS_PORT)
    node.set_defaults(func=cmd_node)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    # `memup node start ... -- ray start ARGS`: what follows -- goes to `ray start` untouched.
    ray_args: list[str] = []
    if argv[:1] == ["node"] and "--" in argv:
        argv, ray_args = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    args = build_parser().parse_args(argv)
    args.ray_args = ray_args
    try:
        if args.command in SUPERVISED and not supervisor.is_child():
            return _supervise(args, argv)
        return args.func(args)
    except USER_ERRORS as error:
        kind = "bad config: " if isinstance(error, ConfigError) else ""
        print(f"memup: error: {kind}{one_line(error)}", file=sys.stderr)
        return supervisor.BAD_INPUT
    except KeyboardInterrupt:
        print("memup: interrupted; continue with --resume", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - only Ray's own failures are turned into a hint
        loss = ray_loss(error)
        if loss is None and supervisor.is_child():
            traceback.print_exc()
            return supervisor.PYTHON_ERROR
        if loss is None:
            raise
        log.debug("Ray failed under the run", exc_info=error)
        print(resume_hint(error, loss, getattr(args, "config", None),
                          getattr(args, "resolved_run_dir", None)), file=sys.stderr)
        return 3


def _supervise(args: argparse.Namespace, argv: list[str]) -> int:
    """The command in a child process (`app.supervisor`), its run dir fixed here so that
    the message after an abrupt end names it; the config is checked before any work."""
    config = load_config(args.config)
    _check_inputs(args, config)
    run_dir = args.run_dir or RunDir.default_root(config.name)
    if args.run_dir is None:
        argv = [*argv, "--run-dir", str(run_dir)]
    return supervisor.run_supervised(argv, args.config, run_dir)


if __name__ == "__main__":
    sys.exit(main())
