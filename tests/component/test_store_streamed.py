"""Long episodes are sampled from a real store as `StreamedEpisode`s and read one chunk at a time
with bounded reads; what they yield is exactly the episode; bad chunks are quarantined."""

from __future__ import annotations

import numpy as np
import pytest

from trajectory_store import EncodedEpisode, Episode, InvalidEpisodeError, StreamedEpisode, TrajectoryStore
from trajectory_store.codec import decode_episode, encode_episode
from trajectory_store.synthetic import random_episode

ROWS = 64  # small chunks, so that a 1000-step episode has 16 of them


def _insert(store: TrajectoryStore, episodes: list[Episode], compression=None) -> None:
    store.insert([EncodedEpisode(e.episode_id, e.length, encode_episode(e, compression, chunk_rows=ROWS))
                  for e in episodes])


def _streamed(store: TrajectoryStore, n: int) -> list[StreamedEpisode]:
    items = store.sample_streamed(n, inline_bytes=4096)
    assert all(isinstance(item, StreamedEpisode) for item in items)
    return items  # type: ignore[return-value]


@pytest.mark.parametrize("compression", [None, "lz4"])
def test_an_episode_larger_than_one_chunk_is_streamed_with_bounded_reads(make_store, compression) -> None:
    store = make_store(seed=0)
    rng = np.random.default_rng(0)
    episodes = {e.episode_id: e for e in (random_episode(rng, 1000, obs_dim=5) for _ in range(3))}
    _insert(store, list(episodes.values()), compression)
    blob_bytes = max(len(b) for b in store._client.hvals(store._keys.blobs))
    for item in _streamed(store, 6):
        whole = episodes[item.episode_id]
        assert item.num_chunks == 16 and item.length == 1000 and dict(item.meta) == dict(whole.meta)
        parts = list(item.chunks())
        assert len(parts) == 16 and max(len(p[0]) for p in parts) == ROWS
        for column, name in zip(zip(*parts), ("obs", "action", "reward")):
            assert np.array_equal(np.concatenate(column), getattr(whole, name)), name
        # One ranged read per chunk (after the header), each about one chunk's bytes:
        # 64 rows x (5 + 1 + 1) x 4 bytes plus the Arrow message framing.
        assert item.reads == 16
        assert item.max_read_bytes <= ROWS * 7 * 4 + 512 < blob_bytes / 4
    stats = store.stats()
    assert stats.sampled == 6 and stats.quarantined == 0


def test_a_chunked_blob_still_decodes_whole_through_every_reader(make_store) -> None:
    store = make_store(seed=0)
    rng = np.random.default_rng(1)
    episodes = [random_episode(rng, 300) for _ in range(2)] + [random_episode(rng, 10)]
    _insert(store, episodes, "zstd")
    by_id = {e.episode_id: e for e in episodes}
    assert all(by_id[e.episode_id] == e for e in store.sample(8))
    assert store.get([e.episode_id for e in episodes]) == episodes
    assert list(store.iterate()) == episodes
    # Small blobs come back whole from `sample_streamed` too.
    items = store.sample_streamed(20, inline_bytes=1024)
    assert {type(i) for i in items} == {Episode, StreamedEpisode}


def test_a_corrupt_chunk_is_quarantined_when_read(make_store) -> None:
    store = make_store(seed=0)
    episode = random_episode(np.random.default_rng(2), 500)
    _insert(store, [episode])
    blob = bytearray(store._client.hget(store._keys.blobs, episode.episode_id))
    item = _streamed(store, 1)[0]
    start, stop = item.layout.byte_range(3)
    header = len(blob) - 8 - item.layout.ends[-1]
    blob[header + start + 8: header + stop] = b"\x00" * (stop - start - 8)  # chunk 3's message
    store._client.hset(store._keys.blobs, episode.episode_id, bytes(blob))
    item.read_chunk(2)
    with pytest.raises(InvalidEpisodeError, match="chunk 3"):
        item.read_chunk(3)
    assert episode.episode_id in store.quarantined() and store.stats().episodes == 0
    with pytest.raises(InvalidEpisodeError):
        decode_episode(bytes(blob))


def test_a_wrong_return_is_found_by_the_full_pass(make_store) -> None:
    episode = random_episode(np.random.default_rng(3), 300)
    meta = {**episode.meta, "return": float(episode.meta["return"]) + 5.0}
    tampered = object.__new__(Episode)  # bypasses validation, as a hostile writer could
    object.__setattr__(tampered, "obs", episode.obs)
    object.__setattr__(tampered, "action", episode.action)
    object.__setattr__(tampered, "reward", episode.reward)
    object.__setattr__(tampered, "meta", meta)
    store = make_store(seed=0)
    _insert(store, [tampered])
    item = _streamed(store, 1)[0]
    with pytest.raises(InvalidEpisodeError, match="return"):
        list(item.chunks())
    assert episode.episode_id in store.quarantined()
