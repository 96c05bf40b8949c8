"""`StreamedEpisode`: a stored episode read one chunk (record batch) at a time.

    for item in store.sample_streamed(16):         # Episode (small blobs) or StreamedEpisode
        obs, action, reward = item.read_chunk(0)   # one bounded ranged read, validated

Opening one reads only the blob's schema message (types, metadata, chunk layout; all checked
as `decode_episode` checks them). Each `read_chunk(i)` fetches that chunk's bytes with one
ranged read and decodes "schema message + chunk + end marker" with the episode decoder. A blob
that fails is quarantined and `InvalidEpisodeError` raised; an episode evicted meanwhile raises
`EpisodeNotFoundError`. The return in the metadata is checked against the rewards by
`chunks()`, the pass that reads them all.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from trajectory_store.chunks import Layout
from trajectory_store.codec import decode_chunk, decode_episode, read_header
from trajectory_store.episode import Episode, check_header_meta, check_return
from trajectory_store.errors import EpisodeNotFoundError, InvalidEpisodeError

Fetch = Callable[[bytes, int, int], "bytes | None"]
"""(episode id, start, stop) -> bytes start .. stop - 1 of its blob, None if it is gone."""
Quarantine = Callable[[bytes, str], None]

_EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"
_HEADER_PROBE = 4096  # the first read: a schema message with a 100 000-step layout is ~1.5 KB
_MAX_HEADER = 1 << 20
Columns = tuple[np.ndarray, np.ndarray, np.ndarray]


class StreamedEpisode:
    """One stored episode of several chunks; `meta` as `Episode.meta`, columns by chunk."""

    def __init__(self, raw_id: bytes, header: bytes, obs_dim: int, meta: Mapping[str, Any],
                 layout: Layout, fetch: Fetch, quarantine: Quarantine) -> None:
        self._id, self._header, self._fetch, self._quarantine = raw_id, header, fetch, quarantine
        self.obs_dim, self.meta, self.layout = obs_dim, types.MappingProxyType(dict(meta)), layout
        self.reads = 0
        self.max_read_bytes = 0

    @property
    def episode_id(self) -> str:
        return self._id.decode()

    @property
    def length(self) -> int:
        return int(self.meta["length"])

    @property
    def chunk_rows(self) -> int:
        return self.layout.rows

    @property
    def num_chunks(self) -> int:
        return self.layout.num_chunks

    def read_chunk(self, i: int) -> Columns:
        """(obs [n, obs_dim] float32, action [n] int32, reward [n] float32) of steps
        i * chunk_rows ... (n = chunk_rows except in the last chunk); read-only arrays."""
        if not 0 <= i < self.num_chunks:
            raise IndexError(f"chunk {i} of an episode of {self.num_chunks} chunks")
        start, stop = self.layout.byte_range(i)
        data = self._read(len(self._header) + start, len(self._header) + stop)
        try:
            columns = decode_chunk(pa.py_buffer(self._header + data + _EOS), self.obs_dim,
                                   self.layout.rows_of(i, self.length))
        except InvalidEpisodeError as exc:
            self._fail(f"chunk {i}: {exc}")
        for column in columns:
            column.flags.writeable = False
        return columns

    def chunks(self) -> Iterator[Columns]:
        """Every chunk in order; after the last, the metadata's return is checked against the
        rewards (a mismatch quarantines the blob and raises `InvalidEpisodeError`)."""
        total = 0.0
        for i in range(self.num_chunks):
            columns = self.read_chunk(i)
            total += float(np.sum(columns[2], dtype=np.float64))
            yield columns
        try:
            check_return(self.meta["return"], total)
        except InvalidEpisodeError as exc:
            self._fail(str(exc))

    def _read(self, start: int, stop: int) -> bytes:
        data = self._fetch(self._id, start, stop)
        if data is None:
            raise EpisodeNotFoundError(f"episode {self.episode_id} was evicted or quarantined "
                                       "while it was being read")
        self.reads += 1
        self.max_read_bytes = max(self.max_read_bytes, len(data))
        if len(data) != stop - start:
            self._fail(f"bytes {start}..{stop} lie past the blob's end")
        return data

    def _fail(self, reason: str) -> None:
        self._quarantine(self._id, reason)
        raise InvalidEpisodeError(f"episode {self.episode_id}: {reason}")

    def __repr__(self) -> str:
        return (f"StreamedEpisode(id={self.episode_id}, length={self.length}, "
                f"chunks={self.num_chunks} x {self.chunk_rows})")


def open_streamed(raw_id: bytes, nbytes: int, fetch: Fetch, quarantine: Quarantine,
                  max_length: int) -> Episode | StreamedEpisode:
    """Reads and checks the blob's schema message; a blob without a chunk layout (one record
    batch) is read and decoded whole. Quarantines and raises `InvalidEpisodeError` on a bad
    header; `EpisodeNotFoundError` if the episode is gone."""
    def read(start: int, stop: int) -> bytes:
        data = fetch(raw_id, start, stop)
        if data is None:
            raise EpisodeNotFoundError(f"episode {raw_id.decode()} is gone")
        return data

    def fail(reason: str) -> None:
        quarantine(raw_id, reason)
        raise InvalidEpisodeError(f"episode {raw_id.decode()}: {reason}")

    prefix = read(0, min(nbytes, _HEADER_PROBE))
    if len(prefix) < 8 or prefix[:4] != _EOS[:4]:
        fail("the blob does not start with an Arrow IPC message")
    end = 8 + int.from_bytes(prefix[4:8], "little", signed=True)
    if not 8 < end <= min(nbytes, _MAX_HEADER):
        fail(f"schema message of {end} bytes in a blob of {nbytes}")
    header = prefix[:end] if end <= len(prefix) else prefix + read(len(prefix), end)
    try:
        schema = pa.ipc.open_stream(pa.py_buffer(header + _EOS)).schema
        obs_dim, meta, layout = read_header(schema, max_length)
        if layout is None:
            episode = decode_episode(header + read(len(header), nbytes), max_length=max_length)
            if episode.episode_id.encode() != raw_id:
                raise InvalidEpisodeError(f"the blob holds episode {episode.episode_id}")
            return episode
        meta = check_header_meta(meta, meta["length"])
        if meta["episode_id"].encode() != raw_id:
            raise InvalidEpisodeError(f"the blob holds episode {meta['episode_id']}")
        if end + layout.ends[-1] + len(_EOS) != nbytes:
            raise InvalidEpisodeError("the chunk layout does not end where the blob does")
    except InvalidEpisodeError as exc:
        fail(str(exc))
    except (pa.ArrowException, OSError, ValueError) as exc:
        fail(f"unreadable schema message ({type(exc).__name__}: {exc})")
    return StreamedEpisode(raw_id, header, obs_dim, meta, layout, fetch, quarantine)
