"""Detector warm-up: the distinct-pair loss is exactly the full-batch loss over every step."""

import contextlib

import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.inputs.columns import episode_columns
from learner.memup.detector_warmup import distinct_rows, warm_up_detector
from learner.memup.inputs.episodes import generate_episodes
from learner.memup.inputs.prepared import pad_episodes, prepare_episode
from memup_module import Detector, MemoryConfig, make_codec, masked_nll, nll_per_entry

CONFIG = MemUPConfig()
TMAZE = tmaze_spec(40)


def _batch():
    codec = make_codec(CONFIG, (-3.0, 0.0, 4.0))
    episodes = generate_episodes(TMAZE, 12, 0)
    columns = [episode_columns(e, CONFIG, codec) for e in episodes]
    return pad_episodes([prepare_episode(e, CONFIG, codec) for e in episodes],
                        torch.device("cpu")), columns


def test_weighted_distinct_pairs_equal_the_mean_over_all_steps():
    torch.manual_seed(0)
    detector = Detector(MemoryConfig(), 16, 16, 3)
    batch, columns = _batch()
    context, classes, counts = distinct_rows(columns, torch.device("cpu"), part_steps=16)
    assert len(classes) < 64 and counts.sum() == batch.lengths.sum()
    weighted = (nll_per_entry(detector(context), classes, torch.ones_like(classes).bool())
                * counts / counts.sum()).sum()
    steps = torch.arange(batch.num_steps)
    live = steps.unsqueeze(0) < batch.lengths.unsqueeze(1)
    full = masked_nll(detector(batch.context), batch.classes, live)
    torch.testing.assert_close(weighted, full)


def test_warm_up_learns_that_only_the_junction_is_uncertain():
    torch.manual_seed(0)
    detector = Detector(MemoryConfig(), 64, 64, 3)
    optimizer = torch.optim.Adam(detector.parameters(), lr=1e-3)
    batch, columns = _batch()
    rows = distinct_rows(columns, torch.device("cpu"))
    for max_rows in (4096, 8):  # full batch, then the sampling fallback keeps working
        warm_up_detector(detector, optimizer, rows, 200, max_rows, torch.Generator(),
                         contextlib.nullcontext)
    probabilities = torch.softmax(detector(batch.context), -1)
    junctions = batch.lengths - 1
    at_junction = probabilities[torch.arange(12), junctions]
    assert (at_junction[:, 1] < 0.2).all()  # reward 0 is ruled out at the junction
    assert (probabilities[:, :20, 1] > 0.95).all()  # and certain everywhere before it
