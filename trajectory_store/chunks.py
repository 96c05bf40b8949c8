"""The chunk layout of a long episode's blob, so that it can be read a chunk at a time.

A blob of more than `CHUNK_ROWS` steps is an IPC stream of one schema message and one record
batch message per `CHUNK_ROWS` steps. Its schema metadata holds, beside the episode's own
fields, `chunk_layout`: the rows per chunk and the byte end of each batch message counted from
the end of the schema message. A reader fetches the schema message, then any chunk's bytes,
and decodes "schema message + that batch + end marker" as a stream of its own (`codec.py`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

CHUNK_ROWS = 2048
"""Steps per record batch of a long episode (the learner's `chunk_steps` default too)."""
LAYOUT_KEY = b"chunk_layout"
_MAX_CHUNKS = 1 << 20


@dataclasses.dataclass(frozen=True)
class Layout:
    """`rows` steps per chunk (the last may hold fewer); `ends[i]`: where chunk i's message
    ends, in bytes after the schema message (chunk i starts where chunk i - 1 ends, or at 0)."""

    rows: int
    ends: tuple[int, ...]

    @property
    def num_chunks(self) -> int:
        return len(self.ends)

    def byte_range(self, i: int) -> tuple[int, int]:
        """[start, stop) of chunk i's message, in bytes after the schema message."""
        return (self.ends[i - 1] if i else 0), self.ends[i]

    def rows_of(self, i: int, length: int) -> int:
        return min(self.rows, length - i * self.rows)


def layout_to_arrow(layout: Layout) -> dict[bytes, bytes]:
    text = json.dumps({"rows": layout.rows, "ends": list(layout.ends)}, separators=(",", ":"))
    return {LAYOUT_KEY: text.encode()}


def split_metadata(raw: Mapping[bytes, bytes] | None) -> tuple[dict[bytes, bytes] | None, Layout | None]:
    """Schema metadata -> (the episode's own fields, the validated layout or None); raises
    ValueError on a malformed layout."""
    if not raw or LAYOUT_KEY not in raw:
        return (dict(raw) if raw else None), None
    fields = {k: v for k, v in raw.items() if k != LAYOUT_KEY}
    try:
        value = json.loads(raw[LAYOUT_KEY])
        rows, ends = value["rows"], value["ends"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ValueError(f"chunk_layout is not {{rows, ends}} JSON ({exc})") from None
    if not (type(rows) is int and rows >= 1 and isinstance(ends, list) and 2 <= len(ends) <= _MAX_CHUNKS):
        raise ValueError("chunk_layout needs rows >= 1 and at least two chunk ends")
    if not all(type(e) is int for e in ends) or not all(a < b for a, b in zip([0, *ends], ends)):
        raise ValueError("chunk_layout ends must be increasing positive byte offsets")
    return fields, Layout(rows, tuple(ends))
