"""Every memory cell (memup_module.cells) behaves as the rest of the system assumes: one step
equals the sequence pass, chunks with carried state equal one pass, an episode starts from the
zero state, a saved memory loads back exactly and another cell's file is refused."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from memup_module import Memory, MemoryConfig, load_memory, save_memory
from memup_module.cells import CELL_NAMES, make_cell
from memup_module.rl_module import MemUPPolicyModule, policy_model_config

CELLS = list(CELL_NAMES)


def memory_of(cell: str, seed: int = 0) -> Memory:
    torch.manual_seed(seed)
    return Memory(MemoryConfig(cell=cell, hidden_size=16, encoder_size=8, obs_dim=3,
                               num_actions=3)).eval()


def inputs(batch: int, steps: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.zeros(batch, steps, 3 + 3 + 1)
    x[..., :3] = torch.randn(batch, steps, 3, generator=generator)
    actions = torch.randint(0, 3, (batch, steps), generator=generator)
    x[:, 1:, 3:6] = torch.nn.functional.one_hot(actions[:, :-1], 3).float()
    x[:, 1:, 6] = torch.randn(batch, steps - 1, generator=generator)
    return x


@pytest.mark.parametrize("cell", CELLS)
def test_single_steps_equal_the_sequence_pass(cell):
    memory, x = memory_of(cell), inputs(4, 12)
    with torch.no_grad():
        whole, final = memory(x)
        state, stepped = memory.initial_state(4), []
        for t in range(12):  # forward one step at a time (the EnvRunners' path)
            m, state = memory(x[:, t:t + 1], state)
            stepped.append(m)
        torch.testing.assert_close(torch.cat(stepped, 1), whole, rtol=1e-5, atol=1e-5)
        for got, want in zip(state, final):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # precompute + step (the streaming evaluator's path) from the same columns
        pre = memory.precompute(x[..., :3])
        state, actions = memory.initial_state(4), x[..., 3:6].argmax(-1)
        for t in range(12):
            prev = actions[:, t] if t else None
            reward = x[:, t, 6] if t else None
            m, state = memory.step(pre[:, t], prev, state, reward)
            torch.testing.assert_close(m, whole[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("chunk", [1, 5, 7])
def test_chunks_with_carried_state_equal_one_pass(cell, chunk):
    """The MemUP trainer's short truncated rollouts and RLlib's fragments carry the state."""
    memory, x = memory_of(cell), inputs(3, 21)
    with torch.no_grad():
        whole, _ = memory(x)
        state, parts = None, []
        for start in range(0, 21, chunk):
            m, state = memory(x[:, start:start + chunk], state)
            parts.append(m)
    torch.testing.assert_close(torch.cat(parts, 1), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_an_episode_starts_from_the_zero_state(cell):
    memory = memory_of(cell)
    first, second = inputs(2, 9, seed=3), inputs(2, 6, seed=4)
    with torch.no_grad():
        _, carried = memory(first)
        assert any(float(part.abs().sum()) > 0 for part in carried)
        reset = tuple(part * 0 for part in carried)  # what the connectors do at a reset
        after_reset, _ = memory(second, reset)
        alone, _ = memory(second)
    torch.testing.assert_close(after_reset, alone)
    module = MemUPPolicyModule(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (7,)),
        action_space=gym.spaces.Discrete(3),
        model_config=policy_model_config(memory=vars(memory.config),
                                         memory_state={k: v.numpy() for k, v in
                                                       memory.state_dict().items()}))
    initial = module.get_initial_state()
    assert tuple(initial) == memory.state_keys
    assert all(not value.any() for value in initial.values())
    assert [value.shape[0] for value in initial.values()] == list(memory.rnn.state_sizes())


@pytest.mark.parametrize("cell", CELLS)
def test_a_saved_memory_loads_back_exactly_and_another_cell_refuses_it(cell, tmp_path):
    memory, x = memory_of(cell, seed=7), inputs(2, 10)
    path = save_memory(tmp_path / "memory.pt", memory)
    loaded = load_memory(path, expect_cell=cell)
    for name, value in memory.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value, rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)[0], memory(x)[0], rtol=0, atol=0)
    other = next(name for name in CELLS if name != cell)
    with pytest.raises(ValueError, match=f"cell {cell!r}.*memory.cell is {other!r}"):
        load_memory(path, expect_cell=other)


def test_an_unknown_cell_names_the_cells_that_carry_state():
    with pytest.raises(ValueError, match="lstm, gru, indrnn, rim, popgym_indrnn, popgym_lmu"):
        make_cell("transformer", 4, 8, 0.0)
    with pytest.raises(ValueError, match="memory.cell must be one of lstm, gru, indrnn, rim"):
        MemoryConfig(cell="transformer")
    with pytest.raises(ValueError, match="multiple of 4 for the rim cell"):
        MemoryConfig(cell="rim", hidden_size=30)


def test_rim_updates_only_its_active_mechanisms():
    """Each step changes exactly `ACTIVE` of the K mechanism blocks; the others keep their
    state bit for bit (communication enters the active ones' gates only)."""
    from memup_module.cells.rim import ACTIVE, MECHANISMS
    memory = memory_of("rim")
    with torch.no_grad():
        state = (torch.randn(5, 16),)
        _, (after,) = memory(inputs(5, 1), state)
    changed = (after != state[0]).reshape(5, MECHANISMS, -1).any(-1)
    assert changed.sum(1).tolist() == [ACTIVE] * 5


def test_rim_state_stays_bounded_over_a_long_episode():
    """A GRU state in [-1, 1] whatever the input: communication added to the state itself
    compounded to NaN within 300 steps."""
    torch.manual_seed(0)
    memory = Memory(MemoryConfig(cell="rim", hidden_size=64, encoder_size=8, obs_dim=3,
                                 num_actions=3)).eval()
    with torch.no_grad():
        _, (h,) = memory(inputs(4, 1000) * 5)
    assert h.abs().max().item() <= 1.0


@pytest.mark.parametrize("cell", CELLS)
def test_the_recurrence_stays_fp32_under_autocast(cell):
    """Phase I may run under bf16 autocast; the state every cell carries stays fp32."""
    memory, x = memory_of(cell), inputs(2, 6)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        m, state = memory(x)
        stepped, stepped_state = memory(x[:, :1])
    assert all(part.dtype == torch.float32 for part in (*state, *stepped_state))
    assert m.dtype == torch.float32


@pytest.mark.parametrize("cell", CELLS)
def test_training_steps_and_sequences_send_gradient_into_the_cell(cell):
    """The MemUP trainer runs the memory in train mode, one step per update (rollout 1) or a
    short sequence; both must work there (S4D's own step is eval-only) and compute what eval
    mode computes."""
    memory, x = memory_of(cell), inputs(2, 6)
    with torch.no_grad():
        want_step, _ = memory(x[:, :1])
        want_sequence, _ = memory(x)
    memory.train()
    for got, want in ((memory(x[:, :1])[0], want_step), (memory(x)[0], want_sequence)):
        torch.testing.assert_close(got, want)
        memory.zero_grad()
        got.square().sum().backward()
        grads = [p.grad for name, p in memory.rnn.named_parameters() if name != "weight_ih_l0"]
        assert memory.rnn.weight_ih_l0.grad.abs().sum() > 0
        assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_indrnn_state_stays_bounded_over_a_long_episode():
    """A relu IndRNN unit with u near 1 adds up a constant drive for the whole episode (|h| ~ 300
    at step 1 000 on the T-Maze); the memory cell's hard tanh keeps every unit in [-1, 1] and so
    leaves a unit that holds the cue comparable in size to the rest."""
    cell = make_cell("indrnn", 4, 8, forget_bias=5.0)
    with torch.no_grad():
        cell.weight_hh_l0.fill_(1.0)
        drive = torch.full((2, 1000, 4), 0.5)
        drive[1] *= -1
        m, (h,) = cell.sequence(drive, (torch.zeros(2, 8),))
    assert m.abs().max() <= 1.0
    assert h.abs().max() > 0.5  # the drive still moves the state: bounded, not stuck at zero
