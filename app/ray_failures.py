"""What a run lost when Ray itself failed under it, and how to go on (docs/design.md §8, §9).

A dead raylet, a lost node or object store, an actor that ran out of restarts: the run dir
still holds every finished phase (episodes in its Redis, MemUP checkpoints, saved policies), so
the message names what was lost and the `--resume` command that continues from there.
"""

from __future__ import annotations

from pathlib import Path

import ray.exceptions as ray_errors

# Most specific first: the first match names the loss.
_LOSSES: tuple[tuple[type[BaseException], str], ...] = (
    (ray_errors.LocalRayletDiedError, "this machine's Ray node (its raylet died)"),
    (ray_errors.NodeDiedError, "a Ray node"),
    (ray_errors.OutOfMemoryError, "a Ray worker, killed by Ray's memory monitor"),
    (ray_errors.ObjectStoreFullError, "room in Ray's object store"),
    (ray_errors.OutOfDiskError, "disk space for Ray's object store"),
    (ray_errors.OwnerDiedError, "an object whose owner process died"),
    (ray_errors.ObjectLostError, "an object in Ray's object store"),
    (ray_errors.ActorDiedError, "a Ray actor, after its restarts"),
    (ray_errors.RayActorError, "a Ray actor"),
    (ray_errors.WorkerCrashedError, "a Ray worker process"),
    (ray_errors.RaySystemError, "Ray's own processes"),
    (ray_errors.RpcError, "the connection to Ray's processes"),
)


def ray_loss(error: BaseException) -> str | None:
    """What Ray lost, if `error` (or an error it was raised from) is Ray failing; None for an
    error of the run's own code, which a `RayTaskError` wraps and which resuming would repeat."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ray_errors.RayTaskError):
            return None
        for kind, loss in _LOSSES:
            if isinstance(error, kind):
                return loss
        error = error.__cause__ or error.__context__
    return None


def resume_hint(error: BaseException, loss: str, config: Path | None,
                run_dir: Path | None) -> str:
    """The message `memup` prints when Ray failed under a run."""
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    command = "memup train"
    if config is not None:
        command += f" --config {config}"
    command += f" --run-dir {run_dir}" if run_dir is not None else " --run-dir <the run dir>"
    return (f"memup: Ray failed under the run and lost {loss} "
            f"({type(error).__name__}: {first_line}).\n"
            f"The run dir keeps every finished phase (stored episodes, MemUP checkpoints, saved "
            f"policies). Continue with:\n    {command} --resume\n"
            f"(`make train ARGS=--resume RUN_NAME=<run dir name>` does the same.)")
