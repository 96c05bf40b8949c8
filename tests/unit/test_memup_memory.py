"""The memory module, its state handling and the memup-memory/1 file."""

import pytest
import torch
from torch import nn

from memup_module import MEMORY_FORMAT, Memory, MemoryConfig, load_memory, save_memory


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_shapes_and_initial_state(cell):
    memory = Memory(MemoryConfig(cell=cell, hidden_size=16))
    state = memory.initial_state(3)
    assert len(state) == (2 if cell == "lstm" else 1)
    assert all(part.shape == (3, 16) and not part.any() for part in state)
    m, new_state = memory(torch.randn(3, 7, 6))
    assert m.shape == (3, 7, 16)
    assert torch.allclose(m[:, -1], new_state[0], atol=1e-6)


def test_forget_bias_is_added_to_the_forget_gate():
    torch.manual_seed(1)
    shifted = Memory(MemoryConfig(hidden_size=8, forget_bias=3.0))
    torch.manual_seed(1)
    plain = Memory(MemoryConfig(hidden_size=8, forget_bias=0.0))
    delta = shifted.rnn.bias_ih_l0 - plain.rnn.bias_ih_l0
    assert torch.allclose(delta[8:16], torch.full((8,), 3.0)) and not delta[:8].any()


def test_gru_update_gate_bias_spreads_from_zero_to_the_forget_bias():
    # The update gate both keeps h and shuts out x: some units must start out able to write.
    torch.manual_seed(1)
    shifted = Memory(MemoryConfig(cell="gru", hidden_size=5, forget_bias=4.0))
    torch.manual_seed(1)
    plain = Memory(MemoryConfig(cell="gru", hidden_size=5, forget_bias=0.0))
    delta = shifted.rnn.bias_ih_l0 - plain.rnn.bias_ih_l0
    assert torch.allclose(delta[5:10], torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0]))
    assert not delta[:5].any() and not delta[10:].any()


def test_wrong_input_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"memory input must be \[B, T, 6\]"):
        Memory(MemoryConfig())(torch.randn(2, 3, 5))


def test_save_and_load_round_trip(tmp_path):
    config = MemoryConfig(cell="gru", hidden_size=12, encoder_size=8)
    memory = Memory(config).train()
    path = save_memory(tmp_path / "sub" / "memory.pt", memory, config)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == MEMORY_FORMAT and payload["config"]["cell"] == "gru"
    loaded = load_memory(path)
    assert not loaded.training and loaded.config == config
    x = torch.randn(2, 5, 6)
    torch.testing.assert_close(loaded(x)[0], memory(x)[0])


def test_load_memory_rejects_another_format(tmp_path):
    other = tmp_path / "policy.pt"
    torch.save({"format": "rllib-module/1", "state_dict": {}}, other)
    with pytest.raises(ValueError, match=r"not a memup-memory/1 memory file \(format is 'rllib"):
        load_memory(other)
    bare = tmp_path / "weights.pt"
    torch.save(Memory(MemoryConfig()).state_dict(), bare)
    with pytest.raises(ValueError, match="format is None"):
        load_memory(bare)


def test_load_memory_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save(Memory(MemoryConfig(hidden_size=4)), path)  # a whole pickled module
    with pytest.raises(ValueError, match="does not load as plain tensors"):
        load_memory(path)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("with_reward", [False, True])
def test_precompute_and_step_follow_the_sequence_forward(cell, with_reward):
    # The single-step API (what the streaming evaluator runs) and the cell's sequence kernel
    # are two code paths for one function: any drift between them fails here.
    torch.manual_seed(3)
    memory = Memory(MemoryConfig(cell=cell, hidden_size=16, encoder_size=8, num_actions=3))
    batch, steps = 4, 40
    # Step t reads o_t, a_{t-1} = previous[:, t] and r_{t-1} = rewards[:, t].
    obs, previous = torch.randn(batch, steps, 3), torch.randint(0, 3, (batch, steps))
    rewards = torch.randn(batch, steps) if with_reward else torch.zeros(batch, steps)
    x = torch.cat([obs, nn.functional.one_hot(previous, 3).float(), rewards[..., None]], -1)
    x[:, 0, 3:] = 0.0  # the first step has no a_{t-1}, r_{t-1}
    with torch.no_grad():
        expected, expected_state = memory(x)
        pre = memory.precompute(obs)
        m, state = memory.step(pre[:, 0], None, memory.initial_state(batch))
        stepped = [m]
        for t in range(1, steps):
            m, state = memory.step(pre[:, t], previous[:, t], state,
                                   rewards[:, t] if with_reward else None)
            stepped.append(m)
    torch.testing.assert_close(torch.stack(stepped, 1), expected, atol=1e-5, rtol=1e-5)
    for a, b in zip(state, expected_state):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
