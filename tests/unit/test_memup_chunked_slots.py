"""Chunked slots: training reads exactly what whole-episode slots read, in bounded memory."""

import dataclasses

import numpy as np
import pytest
import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.chunk_targets import encode_targets
from learner.memup.inputs.columns import episode_columns
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.inputs.slots import Rollout
from learner.memup.inputs.store_source import StreamedStoreSource
from learner.memup.inputs.streamed_columns import ChunkedColumns
from learner.memup.training import MemUPTrainer
from memup_module import MemoryConfig, make_codec, stream_targets
from trajectory_store import EncodedEpisode, Episode, encode_episode

# Episodes of 150-170 steps: three chunks of 64, one chunk of 4096 (the whole episode).
TMAZE = tmaze_spec(150, length_jitter=20)
SMALL = MemUPConfig(batch_slots=5, rollout=7, prefetch_episodes=0, detector_warmup_updates=3,
                    sample_batch=4, context_size=8, predictor_hidden=8, detector_hidden=8,
                    memory=MemoryConfig(hidden_size=8, encoder_size=4))
EPISODES = generate_episodes(TMAZE, 24, 0)


def _masked(rollout: Rollout) -> dict[str, torch.Tensor]:
    """The rollout with what the losses mask out (steps past an episode's end, invalid
    targets) zeroed: what lies there is arbitrary, and proven irrelevant by the masking tests."""
    def keep(t, mask):
        return torch.where(mask.view(*mask.shape, *[1] * (t.dim() - mask.dim())), t, 0)

    step, target = rollout.valid, rollout.target_valid
    return {"x": keep(rollout.x, step), "valid": step, "context": keep(rollout.context, step),
            "classes": keep(rollout.classes, step), "target_valid": target,
            "target_context": keep(rollout.target_context, target),
            "target_classes": keep(rollout.target_classes, target),
            "target_distance": keep(rollout.target_distance, target)}


def _assert_same(a: Rollout, b: Rollout) -> None:
    for (name, x), y in zip(_masked(a).items(), _masked(b).values()):
        assert torch.equal(x, y), name


def _trainer(**overrides) -> MemUPTrainer:
    return MemUPTrainer(dataclasses.replace(SMALL, **overrides),
                        InMemorySource(EPISODES, seed=1), TMAZE)


@pytest.mark.parametrize("settings", [dict(top_k=2), dict(top_k=1),
                                      dict(top_k=3, detector_score="surprise"),
                                      dict(top_k=2, detector_score="ema_error")])
def test_chunked_slot_buffer_yields_exactly_the_rollouts_of_the_whole_episode_one(settings):
    whole, chunked = _trainer(chunk_steps=4096, **settings), _trainer(chunk_steps=64, **settings)
    crossed = 0
    for _ in range(80):
        for trainer in (whole, chunked):
            if not trainer.started:
                trainer._start()
        _assert_same(whole.slots.rollout(SMALL.rollout), chunked.slots.rollout(SMALL.rollout))
        crossed += int((chunked.slots.window_start > 0).sum())
        whole.update()
        chunked.update()
    assert crossed > 0  # slots did move past their first chunk
    for p, q in zip(whole.memory.parameters(), chunked.memory.parameters()):
        assert torch.equal(p, q)


def test_targets_beyond_a_chunk_resolve_through_its_carried_top_k():
    config = dataclasses.replace(SMALL, top_k=3)
    codec = make_codec(config, (-3.0, 0.0, 4.0))
    columns = episode_columns(EPISODES[0], config, codec)
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 4, (columns.length,), generator=generator).float()  # many ties
    scores[-1] = 10.0  # the junction: the target of every step, far ahead
    indices, valid = stream_targets(scores, 3)
    targets = encode_targets(columns, indices.numpy(), valid.numpy(), 64)
    assert targets.codes.dtype == np.uint16 and targets.carry_index.shape == (3, 3)
    _, got_valid, got = targets.resolve(0, columns.length, 0)
    assert np.array_equal(got_valid, valid.numpy()) and np.array_equal(got, indices.numpy())
    assert (targets.carry_index[:-1, 0] == columns.length - 1).all()
    np.testing.assert_array_equal(targets.carry_context[0, 0],
                                  columns.context_at(np.array([columns.length - 1]))[0])


def test_the_window_buffer_stays_two_chunks_long_for_any_episode_length():
    long_maze = tmaze_spec(2000, length_jitter=0)
    trainer = MemUPTrainer(dataclasses.replace(SMALL, chunk_steps=128, stagger_start=True),
                           InMemorySource(generate_episodes(long_maze, 6, 0)), long_maze)
    trainer.train(3)
    assert trainer.slots.capacity == 256 and trainer.slots.x.shape[1] == 256
    trainer.close()


def test_restore_under_another_chunk_size_continues_identically(tmp_path):
    original = _trainer(chunk_steps=64, top_k=2)
    original.train(30)
    path = original.save(tmp_path / "ckpt.pt")
    resumed = _trainer(chunk_steps=128, top_k=2)
    resumed.restore(path)
    _assert_same(original.slots.rollout(SMALL.rollout), resumed.slots.rollout(SMALL.rollout))
    original.update()
    resumed.update()
    for p, q in zip(original.memory.parameters(), resumed.memory.parameters()):
        assert torch.equal(p, q)


class _StoreReplay:
    """The same pseudo-random sequence of stored episodes, whole or streamed from the store."""

    def __init__(self, store, ids: list[str], streamed: bool) -> None:
        self.store, self.ids, self.streamed = store, ids, streamed
        self.rng = np.random.default_rng(1)
        self.opened: list = []

    def sample(self, n: int, timeout_s=None) -> list:
        ids = [self.ids[i] for i in self.rng.integers(0, len(self.ids), n)]
        if not self.streamed:
            return self.store.get(ids)
        items = self.store.get_streamed(ids, inline_bytes=0)
        self.opened += items
        return items


@pytest.mark.parametrize("settings", [dict(top_k=2), dict(top_k=1, detector_score="ema_error")])
def test_episodes_streamed_from_the_store_yield_exactly_the_rollouts_of_whole_ones(make_store,
                                                                                   settings):
    store = make_store(seed=0)
    episodes = [Episode.create(e.obs, e.action, e.reward, env_id="memup/NoisyTMaze-v0",
                               seed=e.meta["seed"], collector_id="test", policy_id="random")
                for e in EPISODES]
    # Record batches of 64 rows: every 150-170-step episode is three chunks in the store.
    store.insert([EncodedEpisode(e.episode_id, e.length, encode_episode(e, "lz4", chunk_rows=64))
                  for e in episodes])
    ids = [e.episode_id for e in episodes]
    whole_source, streamed_source = _StoreReplay(store, ids, False), _StoreReplay(store, ids, True)
    config = dataclasses.replace(SMALL, chunk_steps=64, **settings)
    whole = MemUPTrainer(config, whole_source, TMAZE)
    streamed = MemUPTrainer(config, streamed_source, TMAZE)
    for _ in range(80):
        for trainer in (whole, streamed):
            if not trainer.started:
                trainer._start()
        _assert_same(whole.slots.rollout(SMALL.rollout), streamed.slots.rollout(SMALL.rollout))
        whole.update()
        streamed.update()
    assert all(isinstance(e.columns, ChunkedColumns) for e in streamed.slots.episodes)
    # Every read fetched one chunk of 64 rows (3 + 2 + 1 floats each), never an episode.
    assert max(item.max_read_bytes for item in streamed_source.opened) <= 64 * 6 * 4 + 512
    for p, q in zip(whole.memory.parameters(), streamed.memory.parameters()):
        assert torch.equal(p, q)


def test_a_slot_whose_streamed_episode_is_evicted_ends_and_is_refilled(make_store):
    store = make_store(seed=0, capacity_steps=24 * 170)
    episodes = [Episode.create(e.obs, e.action, e.reward, env_id="memup/NoisyTMaze-v0",
                               seed=e.meta["seed"], collector_id="test", policy_id="random")
                for e in EPISODES]
    store.insert([EncodedEpisode(e.episode_id, e.length, encode_episode(e, None, chunk_rows=64))
                  for e in episodes])
    trainer = MemUPTrainer(dataclasses.replace(SMALL, chunk_steps=64),
                           StreamedStoreSource(store, inline_bytes=0), TMAZE)
    trainer.train(2)
    held = {e.columns._reader.episode_id for e in trainer.slots.episodes}
    store._client.hdel(store._keys.blobs, *held)  # as if evicted, behind the store's back
    trainer.train(60)  # every slot crosses a chunk boundary, finds its episode gone, is refilled
    assert not held & {e.columns._reader.episode_id for e in trainer.slots.episodes}
    trainer.close()


def test_a_checkpoint_of_streamed_slots_resumes_like_one_of_whole_slots(make_store, tmp_path):
    store = make_store(seed=0)
    episodes = [Episode.create(e.obs, e.action, e.reward, env_id="memup/NoisyTMaze-v0",
                               seed=e.meta["seed"], collector_id="test", policy_id="random")
                for e in EPISODES]
    store.insert([EncodedEpisode(e.episode_id, e.length, encode_episode(e, None, chunk_rows=64))
                  for e in episodes])
    ids = [e.episode_id for e in episodes]
    config = dataclasses.replace(SMALL, chunk_steps=64)
    whole = MemUPTrainer(config, _StoreReplay(store, ids, False), TMAZE)
    streamed = MemUPTrainer(config, _StoreReplay(store, ids, True), TMAZE)
    whole.train(20)
    streamed.train(20)
    resumed = MemUPTrainer(config, _StoreReplay(store, ids, False), TMAZE)
    resumed.restore(streamed.save(tmp_path / "ckpt.pt"))
    _assert_same(whole.slots.rollout(SMALL.rollout), resumed.slots.rollout(SMALL.rollout))
