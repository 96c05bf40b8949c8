"""Placement by resources, never by luck (docs/design.md §12).

`memup node start` gives the head `memup_head` and each worker `memup_worker`. Learners and
whatever writes the run dir ask for a sliver of `memup_head`; collectors and EnvRunners for a
sliver of `memup_worker`. On one machine neither resource exists and nothing is constrained.

    RemoteCollector.options(**on_workers(ray.cluster_resources()))
"""

from __future__ import annotations

from collections.abc import Mapping

HEAD_RESOURCE = "memup_head"
WORKER_RESOURCE = "memup_worker"
SLIVER = 0.001  # any number of actors fit on a node that has 1 unit


def _sliver(resource: str, cluster: Mapping[str, float]) -> dict[str, float]:
    return {resource: SLIVER} if cluster.get(resource, 0) > 0 else {}


def head_resources(cluster: Mapping[str, float]) -> dict[str, float]:
    """Custom resources that pin an actor to the head, where the cluster has one."""
    return _sliver(HEAD_RESOURCE, cluster)


def worker_resources(cluster: Mapping[str, float]) -> dict[str, float]:
    """Custom resources that keep an actor on the workers, where the cluster has them."""
    return _sliver(WORKER_RESOURCE, cluster)


def worker_cpus(nodes: list[dict]) -> int:
    """CPUs of the live worker nodes (`ray.nodes()`), 0 on one machine."""
    return int(sum(node["Resources"].get("CPU", 0) for node in nodes
                   if node.get("Alive") and node["Resources"].get(WORKER_RESOURCE, 0) > 0))
