"""`StoreHandle`: where a store lives and how it is set up, as one value that travels through
Ray to every actor that connects to it (a Redis connection itself cannot travel).

    handle = StoreHandle(redis_url, "run-1", StoreConfig(capacity_steps=20_000_000))
    store = handle.connect()              # in whichever process needs it
    StoreHandle(redis_url, "run-1").connect()   # attach with the settings it was created with
"""

from __future__ import annotations

import dataclasses
import re

from trajectory_store.config import StoreConfig
from trajectory_store.store import TrajectoryStore

_PASSWORD = re.compile(r"(//[^:/@]*:)[^@]*@")


@dataclasses.dataclass(frozen=True)
class StoreHandle:
    """A Redis URL, a store name and its settings (None: attach to an existing store)."""

    url: str
    name: str
    config: StoreConfig | None = None

    def connect(self, *, seed: int | None = None) -> TrajectoryStore:
        return TrajectoryStore.from_config(self.url, self.name, self.config, seed=seed)

    def attached(self) -> StoreHandle:
        """The same store, attached to with the settings it was created with."""
        return dataclasses.replace(self, config=None)

    def __repr__(self) -> str:  # Ray logs actor arguments: never the password
        url = _PASSWORD.sub(r"\1***@", self.url)
        return f"StoreHandle(url={url!r}, name={self.name!r}, config={self.config!r})"
