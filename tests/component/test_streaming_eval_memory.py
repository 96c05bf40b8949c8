"""The streamed evaluation carries only the recurrent state: its peak memory is the same at
T = 100 and T = 5 000, where holding m [T, N, H] alone would take 164 MB."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

from envs import tmaze_spec
from learner.impala.evaluation.held_out import held_out_seeds
from learner.impala.evaluation.streaming import stream_evaluate
from policies import small_policy

EPISODES, HIDDEN, LONG = 64, 128, 5_000
STATUS = Path("/proc/self/status")


def _peak_rise_kib(run) -> int:
    """VmHWM growth above the current RSS while `run()` runs (Linux resets the peak on demand)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = int(re.search(r"VmHWM:\s+(\d+)", STATUS.read_text()).group(1))
    run()
    return int(re.search(r"VmHWM:\s+(\d+)", STATUS.read_text()).group(1)) - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux)")
def test_peak_memory_is_flat_in_the_episode_length():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = small_policy(tmaze_spec(10), hidden_size=HIDDEN, head_hiddens=(16,))
    seeds = held_out_seeds(0, EPISODES)

    def evaluate(length: int):
        spec = tmaze_spec(length, length_jitter=0)
        return lambda: stream_evaluate(policy, spec, seeds)

    try:
        evaluate(100)()  # warm up allocator and kernels
        short = _peak_rise_kib(evaluate(100))
        long = _peak_rise_kib(evaluate(LONG))
    finally:
        torch.set_num_threads(threads)
    materialised_kib = LONG * EPISODES * HIDDEN * 4 // 1024
    # A quarter of the materialised states: allocator noise in a full suite reached 21 MB,
    # holding m [T, N, H] would add 160 MB.
    assert long - short < materialised_kib // 4, (short, long, materialised_kib)
