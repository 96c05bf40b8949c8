"""`impala.standardize_memory`: the heads read each memory unit at unit scale, the statistics
tracked on the learner only and carried with the weights to EnvRunners and checkpoints."""

from __future__ import annotations

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import tmaze_spec
from learner.impala.config import ImpalaConfig
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from learner.impala.training import module_settings
from memup_module.memory_standardizer import MemoryStandardizer
from memup_module.rl_module import MemUPPolicyModule, policy_model_config

B, T, H = 6, 20, 16


def test_the_first_batch_sets_the_statistics_and_later_ones_move_them():
    norm = MemoryStandardizer(3, momentum=0.5)
    first = torch.tensor([[1.0, 0.990, 5.0], [3.0, 0.997, 5.0]])
    norm.update(first)
    out = norm(first)
    torch.testing.assert_close(out[:, 0], torch.tensor([-1.0, 1.0]))
    # a unit that moves by 0.007 reaches the heads at the size of any other
    torch.testing.assert_close(out[:, 1], torch.tensor([-1.0, 1.0]), atol=1e-4, rtol=0)
    assert torch.all(out[:, 2] == 0)  # a constant unit: min_std keeps it finite
    norm.update(first + 2.0)
    # EMA of the means and of the spread around them (the shifted batch widens it)
    torch.testing.assert_close(norm.mean[0], torch.tensor(3.0))
    torch.testing.assert_close(norm.var[0], torch.tensor(0.5 * 1.0 + 0.5 * 1.0 + 0.25 * 4.0))


def build(inference_only: bool = False) -> MemUPPolicyModule:
    torch.manual_seed(0)
    env = make_agent_env(rllib_env_config(tmaze_spec(4)))
    return RLModuleSpec(
        module_class=MemUPPolicyModule, observation_space=env.observation_space,
        action_space=env.action_space, inference_only=inference_only,
        model_config=policy_model_config(memory={"hidden_size": H, "encoder_size": 8},
                                         standardize_memory=True),
    ).build()


def batch(module: MemUPPolicyModule, mask: torch.Tensor | None = None) -> dict:
    x = torch.randn(B, T, 6, generator=torch.Generator().manual_seed(1))
    state = {k: torch.as_tensor(np.repeat(v[None], B, 0))
             for k, v in module.get_initial_state().items()}
    out = {Columns.OBS: x, Columns.STATE_IN: state}
    if mask is not None:
        out[Columns.LOSS_MASK] = mask
    return out


def test_only_the_learners_forward_moves_the_statistics_and_padding_is_left_out():
    module = build()
    module.forward_inference(batch(module))
    module.forward_exploration(batch(module))
    assert int(module.memory_norm.updates) == 0
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[:, T // 2:] = False  # RLlib's padding of short sequences
    module.forward_train(batch(module, mask))
    with torch.no_grad():
        m, _ = module.memory(batch(module)[Columns.OBS])
    torch.testing.assert_close(module.memory_norm.mean, m[:, :T // 2].reshape(-1, H).mean(0))
    assert int(module.memory_norm.updates) == 1


def test_statistics_travel_with_the_weights_to_an_inference_only_module():
    learner, runner = build(), build(inference_only=True)
    learner.forward_train(batch(learner))
    runner.set_state(learner.get_state(inference_only=True))
    torch.testing.assert_close(runner.memory_norm.mean, learner.memory_norm.mean)
    got = runner.forward_inference(batch(runner))[Columns.ACTION_DIST_INPUTS]
    want = learner.forward_inference(batch(learner))[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(got, want)


def test_the_impala_setting_reaches_the_module_and_is_off_by_default(tmp_path):
    from memup_module import Memory, MemoryConfig, save_memory
    path = save_memory(tmp_path / "memory.pt", Memory(MemoryConfig(hidden_size=H)))
    on = module_settings(ImpalaConfig(standardize_memory=True), memory_path=path,
                         baseline=False)
    assert on["standardize_memory"] is True
    off = module_settings(ImpalaConfig(), memory_path=path, baseline=False)
    assert off["standardize_memory"] is False
