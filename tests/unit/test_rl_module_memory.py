"""The phase-I memory inside MemUPPolicyModule: same outputs, frozen, restorable without file."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModule, RLModuleSpec

from envs import tmaze_spec
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from memup_module import Memory, MemoryConfig, load_memory, save_memory
from memup_module.rl_module import Head, MemUPPolicyModule, load_policy, policy_model_config


@pytest.fixture()
def memory_file(tmp_path: Path) -> Path:
    torch.manual_seed(7)
    return save_memory(tmp_path / "memory.pt", Memory(MemoryConfig(hidden_size=24)))


def build(**settings) -> MemUPPolicyModule:
    env = make_agent_env(rllib_env_config(tmaze_spec(4)))
    return RLModuleSpec(
        module_class=MemUPPolicyModule, observation_space=env.observation_space,
        action_space=env.action_space, model_config=policy_model_config(**settings),
    ).build()


def batch_for(module: RLModule, x: torch.Tensor) -> dict:
    state = {k: torch.as_tensor(np.repeat(v[None], x.shape[0], 0))
             for k, v in module.get_initial_state().items()}
    return {Columns.OBS: x, Columns.STATE_IN: state}


def test_memory_in_module_reproduces_load_memory_exactly(memory_file: Path) -> None:
    module = build(memory_path=memory_file)
    phase_one = load_memory(memory_file)
    assert type(module.memory) is type(phase_one)
    x = torch.randn(4, 31, 6)
    # The module runs its frozen memory under no_grad, and on some CPUs (AVX2) torch's LSTM
    # takes another kernel with autograd on, 1 ulp apart: compare like with like.
    with torch.no_grad():
        expected, (h, c) = phase_one(x)
    out = module.forward_train(batch_for(module, x))
    assert torch.equal(out[Columns.EMBEDDINGS][..., :24], expected)
    assert torch.equal(out[Columns.STATE_OUT]["h"], h)
    assert torch.equal(out[Columns.STATE_OUT]["c"], c)


def test_weights_carried_in_the_config_build_the_same_memory_as_the_file(memory_file: Path,
                                                                         tmp_path: Path) -> None:
    # What IMPALA's runner sends to EnvRunners on other nodes: no path, the weights themselves.
    from learner.impala.config import ImpalaConfig
    from learner.impala.training import module_settings

    settings = module_settings(ImpalaConfig(), memory_path=memory_file, baseline=False)
    assert settings["memory_path"] is None and settings["memory_state"] is not None
    memory_file.rename(tmp_path / "elsewhere.pt")  # nothing reads the file any more
    module = build(**settings)
    x = torch.randn(3, 9, 6)
    with torch.no_grad():  # as the module runs its frozen memory
        expected, _ = load_memory(tmp_path / "elsewhere.pt")(x)
    out = module.forward_train(batch_for(module, x))
    assert torch.equal(out[Columns.EMBEDDINGS][..., :24], expected)
    assert module.get_ctor_args_and_kwargs()[1]["model_config"]["memory_state"] is None


def test_frozen_memory_has_no_gradients_and_stays_in_eval(memory_file: Path) -> None:
    module = build(memory_path=memory_file)
    module.train()
    assert not module.memory.training and module.policy_head.training
    assert not any(p.requires_grad for p in module.memory.parameters())
    out = module.forward_train(batch_for(module, torch.randn(2, 5, 6)))
    loss = out[Columns.ACTION_DIST_INPUTS].sum() + module.compute_values(
        {}, embeddings=out[Columns.EMBEDDINGS]).sum()
    loss.backward()
    assert all(p.grad is None for p in module.memory.parameters())
    assert all(p.grad is not None for p in module.policy_head.parameters())


@pytest.mark.parametrize("freeze", [True, False])
def test_train_and_eval_set_every_submodules_flag(memory_file: Path, freeze: bool) -> None:
    module = build(memory_path=memory_file, freeze_memory=freeze)
    memory = set(map(id, module.memory.modules()))
    module.eval()
    assert not any(m.training for m in module.modules())
    module.train()
    assert all(m.training != (freeze and id(m) in memory) for m in module.modules())


def test_trainable_memory_gets_gradients(memory_file: Path) -> None:
    module = build(memory_path=memory_file, freeze_memory=False)
    module.train()
    assert module.memory.training
    out = module.forward_train(batch_for(module, torch.randn(2, 5, 6)))
    out[Columns.ACTION_DIST_INPUTS].sum().backward()
    assert all(p.grad is not None for p in module.memory.rnn.parameters())


def test_saved_policy_restores_without_memory_file_and_acts_the_same(
    memory_file: Path, tmp_path: Path
) -> None:
    module = build(memory_path=memory_file)
    with torch.no_grad():  # heads away from their seed-dependent init
        for p in module.policy_head.parameters():
            p.add_(0.1)
    module.save_to_path(tmp_path / "policy")
    memory_file.unlink()
    restored = RLModule.from_checkpoint(tmp_path / "policy")
    assert isinstance(restored, MemUPPolicyModule) and restored.freeze_memory
    x = torch.randn(3, 12, 6)
    for name in ("forward_inference", "forward_exploration"):
        expected = getattr(module, name)(batch_for(module, x))[Columns.ACTION_DIST_INPUTS]
        actual = getattr(restored, name)(batch_for(restored, x))[Columns.ACTION_DIST_INPUTS]
        assert torch.equal(actual, expected)


def test_a_policy_loads_from_the_path_a_user_types(memory_file: Path, tmp_path: Path,
                                                     monkeypatch) -> None:
    module = build(memory_path=memory_file)
    module.save_to_path(tmp_path / "runs" / "r1" / "policy")
    (tmp_path / "runs" / "latest").symlink_to("r1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="empty scheme"):  # what users met before load_policy
        RLModule.from_checkpoint("runs/latest/policy")
    restored = load_policy("runs/latest/policy")
    x = torch.randn(2, 5, 6)
    expected = module.forward_inference(batch_for(module, x))[Columns.ACTION_DIST_INPUTS]
    actual = restored.forward_inference(batch_for(restored, x))[Columns.ACTION_DIST_INPUTS]
    assert torch.equal(actual, expected)


def test_bad_settings_say_what_to_change(memory_file: Path) -> None:
    with pytest.raises(ValueError, match="unknown MemUPPolicyModule setting 'lstm_size'"):
        policy_model_config(lstm_size=3)
    env = make_agent_env(rllib_env_config(tmaze_spec(4)))
    raw_obs = gym.spaces.Box(-1, 1, (3,), np.float32)
    with pytest.raises(ValueError, match="PrevActionReward"):
        RLModuleSpec(module_class=MemUPPolicyModule, observation_space=raw_obs,
                     action_space=env.action_space,
                     model_config=policy_model_config(memory_path=memory_file)).build()
    with pytest.raises(FileNotFoundError):
        build(memory_path=memory_file.with_name("missing.pt"))


@pytest.mark.parametrize("hiddens", [(16,), (16, 8), ()])
def test_head_precompute_and_step_equal_its_forward(hiddens: tuple) -> None:
    torch.manual_seed(2)
    head = Head(memory_size=24, obs_dim=3, encoder_size=8, hiddens=hiddens, out_size=2)
    m, obs = torch.randn(5, 7, 24), torch.randn(5, 7, 3)
    with torch.no_grad():
        expected = head(torch.cat([m, obs], dim=-1))
        pre = head.precompute(obs)
        stepped = torch.stack([head.step(pre[:, t], m[:, t]) for t in range(7)], 1)
    torch.testing.assert_close(stepped, expected, atol=1e-5, rtol=1e-5)
