"""The `memup` command line: collect, pretrain, policy, train (all phases) and evaluate."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import traceback
from pathlib import Path

from app import supervisor
from app.cluster_node import REDIS_PORT, NodeError
from app.config import ConfigError, load_config, save_config
from app.ray_failures import ray_loss, resume_hint
from learner.run_dir import RunDir, RunDirError
from app.services import StoreUnreachableError

log = logging.getLogger("memup")
# Commands that run Ray: they run in a child process that a parent watches (app.supervisor).
SUPERVISED = ("collect", "pretrain", "policy", "train")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="preset YAML, e.g. configs/smoke.yaml")
    parser.add_argument("--run-dir", type=Path, help="run directory (default runs/<name>-<time>)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="start the local Ray without its dashboard (faster start)")


def cmd_collect(args: argparse.Namespace) -> int:
    from app.collect import ensure_episodes
    from app.services import ray_for_run, redis_for_run

    config, run, _ = _prepare_run(args, resumable=False)
    with redis_for_run(run.redis) as url, ray_for_run(dashboard=not args.no_dashboard):
        stats = ensure_episodes(config, run, url)
    print(json.dumps({f"store/{k}": v for k, v in dataclasses.asdict(stats).items()}, indent=2))
    return 0


def _prepare_run(args: argparse.Namespace, *, resumable: bool):
    """Loads and checks the config before any work, creates the run dir, saves config.yaml."""
    config = load_config(args.config)
    run = RunDir.create(args.run_dir or RunDir.default_root(config.name))
    resume = resumable and getattr(args, "resume", False)
    if resumable and not resume and run.memup.exists():
        raise RunDirError(f"{run.root} already holds a run: add --resume to continue it, or pick "
                          "another --run-dir")
    save_config(config, run.config)
    run.link_latest()
    args.resolved_run_dir = run.root  # for the --resume hint if Ray fails under the run
    return config, run, resume


def cmd_pretrain(args: argparse.Namespace) -> int:
    from app.collect import ensure_episodes
    from app.pipeline import pretrain
    from app.services import ray_for_run, redis_for_run

    config, run, _ = _prepare_run(args, resumable=True)
    with redis_for_run(run.redis) as url, ray_for_run(dashboard=not args.no_dashboard):
        ensure_episodes(config, run, url)
        figures = pretrain(config, run, url)
    print(json.dumps(figures, indent=2))
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    from app.pipeline import train_policy_phase
    from app.services import ray_for_run

    config, run, _ = _prepare_run(args, resumable=False)
    with ray_for_run(dashboard=not args.no_dashboard):
        figures = train_policy_phase(config, run, baseline=False, memory_path=args.memory)
        if args.baseline:
            figures.update(train_policy_phase(config, run, baseline=True, memory_path=args.memory))
    print(json.dumps(figures, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from app.pipeline import run_pipeline

    config, run, resume = _prepare_run(args, resumable=True)
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
    names = [f.name for f in dataclasses.fields(LengthEvalSettings)]
    settings = LengthEvalSettings(**{name: getattr(args, name) for name in names
                                     if hasattr(args, name)})
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


def cmd_serve_redis(args: argparse.Namespace) -> int:
    """Runs the store's Redis in the foreground (a cluster head starts it with nohup)."""
    from trajectory_store.serve import serve_redis

    return serve_redis(args.data_dir, port=args.port, bind=args.bind,
                       advertise_host=args.advertise_host)


def cmd_node(args: argparse.Namespace) -> int:
    """Starts or stops this project's processes on a cluster node (see app.cluster_node)."""
    from app import cluster_node

    if args.action == "stop":
        stopped = cluster_node.stop()
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    # The yamls write `memup node start ... -- ray start ARGS` (Ray's launcher looks for
    # "ray start" in the start commands).
    ray_args = args.ray_args[2:] if args.ray_args[:2] == ["ray", "start"] else args.ray_args
    ip = cluster_node.start(head=args.head, address=args.address, ray_args=ray_args,
                            redis_port=args.redis_port)
    role = "head" if args.head else "worker"
    print(f"{role} node {ip} started (logs in {cluster_node.STATE_DIR}/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memup", description=__doc__)
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
    serve.add_argument("--port", type=int)
    serve.add_argument("--advertise-host", help="host put in the URL (the head's address)")
    serve.set_defaults(func=cmd_serve_redis)

    node = commands.add_parser("node", help="start/stop this project's Ray (and Redis) on a "
                               "cluster node, by pid; cluster.yaml runs it",
                               usage="memup node {start,stop} [--head | --address HOST:PORT] "
                                     "[-- ray start ARGS]")
    node.add_argument("action", choices=["start", "stop"])
    node.add_argument("--head", action="store_true", help="the head: also the store's Redis")
    node.add_argument("--address", help="a worker: the head's HOST:PORT")
    node.add_argument("--redis-port", type=int, default=REDIS_PORT)
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
    except ConfigError as error:
        print(f"memup: bad config: {error}", file=sys.stderr)
        return 2
    except (RunDirError, FileNotFoundError, NodeError, StoreUnreachableError) as error:
        print(f"memup: {error}", file=sys.stderr)
        return 2
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
    run_dir = args.run_dir or RunDir.default_root(config.name)
    if args.run_dir is None:
        argv = [*argv, "--run-dir", str(run_dir)]
    return supervisor.run_supervised(argv, args.config, run_dir)


if __name__ == "__main__":
    sys.exit(main())
