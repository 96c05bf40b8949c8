"""Decoding what a store read, and quarantining what fails: never crash, never drop silently."""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence

from trajectory_store.codec import decode_episode
from trajectory_store.episode import Episode
from trajectory_store.errors import InvalidEpisodeError
from trajectory_store.lua_scripts import Scripts, StoreKeys

logger = logging.getLogger(__name__)
_MAX_REASON_CHARS = 1000


class QuarantiningDecoder:
    """Turns (episode_id, blob) pairs read from a store into episodes.

    A blob that does not decode (or holds another episode than its id says) is moved to the
    store's quarantine hash with the reason, removed from the index and counters in one script
    call, and logged; the caller simply gets fewer episodes back.
    """

    def __init__(self, scripts: Scripts, keys: StoreKeys, max_length: int) -> None:
        self._scripts = scripts
        self._keys = keys
        self._max_length = max_length

    def decode(self, pairs: Sequence[tuple[bytes, bytes | None]], *, refund_per_draw: int = 0) -> list[Episode]:
        """Episodes of `pairs` that decode, in order; `refund_per_draw` samples go back to the
        rate limiter for each draw of a quarantined episode (sample counted them)."""
        out: list[Episode] = []
        decoded: dict[bytes, Episode | None] = {}  # sampling with replacement repeats ids
        reasons: dict[bytes, str] = {}
        draws: collections.Counter[bytes] = collections.Counter()
        for raw_id, blob in pairs:
            if raw_id not in decoded:
                decoded[raw_id], reason = self._try_decode(raw_id, blob)
                if decoded[raw_id] is None:
                    reasons[raw_id] = reason
            episode = decoded[raw_id]
            if episode is None:
                draws[raw_id] += 1
            else:
                out.append(episode)
        for raw_id, reason in reasons.items():
            self.quarantine(raw_id, reason, refund=refund_per_draw * draws[raw_id])
        return out

    def quarantine(self, raw_id: bytes, reason: str, *, refund: int = 0) -> None:
        reason = reason[:_MAX_REASON_CHARS]
        self._scripts.quarantine(keys=self._keys.data, args=[raw_id, reason, refund])
        logger.warning(
            "store %r: quarantined episode %s: %s", self._keys.name, raw_id.decode(errors="replace"), reason
        )

    def _try_decode(self, raw_id: bytes, blob: bytes | None) -> tuple[Episode | None, str]:
        if blob is None:  # the scripts read index and blob atomically, so this is damage
            return None, "the index lists this episode but its blob is missing"
        try:
            episode = decode_episode(blob, max_length=self._max_length)
        except InvalidEpisodeError as exc:
            return None, str(exc)
        if episode.episode_id.encode() != raw_id:
            return None, f"the blob holds episode {episode.episode_id}, not this one"
        return episode, ""
