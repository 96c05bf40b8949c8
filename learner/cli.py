"""The `memup` command line: collect, pretrain, policy and train (all phases)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from learner.config import ConfigError, load_config, save_config
from learner.run_dir import RunDir

log = logging.getLogger("memup")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="preset YAML, e.g. configs/smoke.yaml")
    parser.add_argument("--run-dir", type=Path, help="run directory (default runs/<name>-<time>)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="start the local Ray without its dashboard (faster start)")


def cmd_collect(args: argparse.Namespace) -> int:
    from learner.collect import ensure_episodes
    from learner.services import ray_for_run, redis_for_run

    config = load_config(args.config)
    run = RunDir.create(args.run_dir or RunDir.default_root(config.name))
    save_config(config, run.config)
    with redis_for_run(run.redis) as url, ray_for_run(dashboard=not args.no_dashboard):
        stats = ensure_episodes(config, run, url)
    print(json.dumps({f"store/{k}": v for k, v in dataclasses.asdict(stats).items()}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    collect = commands.add_parser("collect", help="fill the run's trajectory store with episodes")
    _common(collect)
    collect.set_defaults(func=cmd_collect)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"memup: bad config: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
