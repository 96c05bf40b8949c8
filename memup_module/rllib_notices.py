"""RLlib notices about RLlib's own code, kept out of the user's way.

Every run printed them, once per process (driver and each EnvRunner), though nothing in this
project can act on them:
- `RLModule(config=[RLModuleConfig object])` is deprecated: RLlib's own `RLModule.__init__`
  builds that object for every module;
- "You are running IMPALA on the new API stack!": printed even when the stack is chosen
  explicitly;
- "Install gputil for GPU system monitoring": Tune's resource poller.
Only these exact messages are dropped; every other warning passes.
"""

from __future__ import annotations

import logging

_DROPPED = {
    "ray._common.deprecation": ("RLModuleConfig",),
    "ray.rllib.algorithms.algorithm_config": ("on the new API stack! This is the new default",),
    "ray.tune.utils.util": ("Install gputil",),
}


class _DropMessages(logging.Filter):
    def __init__(self, fragments: tuple[str, ...]) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


def quiet_rllib_notices() -> None:
    """Installs the filters (idempotent) in this process."""
    for name, fragments in _DROPPED.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(fragments))
