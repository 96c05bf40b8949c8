"""What `insert` does before it talks to Redis: validate and encode, then cut into script calls."""

from __future__ import annotations

from trajectory_store.codec import EncodedEpisode, encode_episode
from trajectory_store.config import StoreConfig
from trajectory_store.episode import Episode, validate_episode
from trajectory_store.errors import InvalidEpisodeError

CHUNK_BYTES = 4 << 20  # one insert script call carries at most this much (keeps Redis responsive)
CHUNK_EPISODES = 512
_ID_CHARS = frozenset("0123456789abcdef")


def encode_for_store(episode: Episode, config: StoreConfig) -> EncodedEpisode:
    """Validates `episode` against the episode contract and the store's limits, then encodes it."""
    ep = validate_episode(episode, max_length=config.max_episode_length)
    _check_fits(ep.length, ep.episode_id, config)
    return EncodedEpisode(ep.episode_id, ep.length, encode_episode(ep, config.compression),
                          ep.meta["policy_id"])


def prepare(item: Episode | EncodedEpisode, config: StoreConfig) -> EncodedEpisode:
    """An Episode is encoded; an EncodedEpisode (trusted blob) has its id and length checked."""
    if isinstance(item, Episode):
        return encode_for_store(item, config)
    if not isinstance(item, EncodedEpisode):
        raise InvalidEpisodeError(f"insert takes Episode or EncodedEpisode, got {type(item).__name__}")
    episode_id = item.episode_id
    if not (isinstance(episode_id, str) and len(episode_id) == 32 and set(episode_id) <= _ID_CHARS):
        raise InvalidEpisodeError(f"EncodedEpisode.episode_id must be 32 hex digits, got {episode_id!r:.50}")
    if not isinstance(item.blob, bytes) or not isinstance(item.length, int) or item.length < 1:
        raise InvalidEpisodeError("EncodedEpisode needs a bytes blob and a positive length (store.encode)")
    if not isinstance(item.policy_id, str):
        raise InvalidEpisodeError(f"EncodedEpisode.policy_id must be a str, got {item.policy_id!r:.50}")
    if item.length > config.max_episode_length:
        raise InvalidEpisodeError(
            f"episode {episode_id} has {item.length} steps, more than "
            f"max_episode_length={config.max_episode_length}; raise max_episode_length"
        )
    _check_fits(item.length, episode_id, config)
    return item


def next_chunk(items: list[EncodedEpisode], start: int) -> list[EncodedEpisode]:
    """The episodes from `start` that one script call carries (at least one)."""
    end, size = start, 0
    while end < len(items) and end - start < CHUNK_EPISODES and (size < CHUNK_BYTES or end == start):
        size += len(items[end].blob)
        end += 1
    return items[start:end]


def _check_fits(length: int, episode_id: str, config: StoreConfig) -> None:
    if length > config.capacity_steps:
        raise InvalidEpisodeError(
            f"episode {episode_id} has {length} steps but the store holds at most "
            f"capacity_steps={config.capacity_steps}; raise capacity_steps"
        )
