"""MemUPPolicyModule's recurrent state: stepping, chunking and whole sequences agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from envs import tmaze_spec
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from memup_module.cells import CELL_NAMES
from memup_module.rl_module import MemUPPolicyModule, policy_model_config

B, T, H = 5, 23, 16


def build(inference_only: bool = False, **settings) -> MemUPPolicyModule:
    torch.manual_seed(0)
    env = make_agent_env(rllib_env_config(tmaze_spec(4)))
    settings.setdefault("memory", {"hidden_size": H, "encoder_size": 8})
    return RLModuleSpec(
        module_class=MemUPPolicyModule, observation_space=env.observation_space,
        action_space=env.action_space, inference_only=inference_only,
        model_config=policy_model_config(**settings),
    ).build()


def zero_state(module: MemUPPolicyModule, batch: int) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.repeat(v[None], batch, 0))
            for k, v in module.get_initial_state().items()}


def inputs(seed: int = 1) -> torch.Tensor:
    return torch.randn(B, T, 6, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_step_by_step_inference_equals_whole_sequence_forward(cell: str) -> None:
    module = build(memory={"hidden_size": H, "encoder_size": 8, "cell": cell})
    x = inputs()
    whole = module.forward_train({Columns.OBS: x, Columns.STATE_IN: zero_state(module, B)})
    state, logits = zero_state(module, B), []
    for t in range(T):
        out = module.forward_inference({Columns.OBS: x[:, t : t + 1], Columns.STATE_IN: state})
        logits.append(out[Columns.ACTION_DIST_INPUTS])
        state = out[Columns.STATE_OUT]
    torch.testing.assert_close(torch.cat(logits, 1), whole[Columns.ACTION_DIST_INPUTS],
                               rtol=1e-5, atol=1e-5)
    for key in module.get_initial_state():
        torch.testing.assert_close(state[key], whole[Columns.STATE_OUT][key], rtol=1e-5, atol=1e-5)


def test_chunks_carrying_state_out_as_state_in_equal_one_pass() -> None:
    """What RLlib's learner does with max_seq_len rows: STATE_IN of a row = STATE_OUT before."""
    module = build()
    x = inputs(2)
    whole = module.forward_train({Columns.OBS: x, Columns.STATE_IN: zero_state(module, B)})
    state, values = zero_state(module, B), []
    for start in range(0, T, 7):
        batch = {Columns.OBS: x[:, start : start + 7], Columns.STATE_IN: state}
        out = module.forward_train(batch)
        values.append(module.compute_values(batch, embeddings=out[Columns.EMBEDDINGS]))
        state = out[Columns.STATE_OUT]
    whole_values = module.compute_values({}, embeddings=whole[Columns.EMBEDDINGS])
    torch.testing.assert_close(torch.cat(values, 1), whole_values, rtol=1e-5, atol=1e-5)


def test_initial_state_is_zero_memory_state_per_sub_env() -> None:
    lstm = build()
    assert lstm.is_stateful()
    assert {k: v.shape for k, v in lstm.get_initial_state().items()} == {"h": (H,), "c": (H,)}
    gru = build(memory={"hidden_size": H, "cell": "gru"})
    assert list(gru.get_initial_state()) == ["h"]
    assert all(not v.any() for v in lstm.get_initial_state().values())


def test_compute_values_reuses_embeddings_and_equals_recomputing_them() -> None:
    module = build()
    batch = {Columns.OBS: inputs(3), Columns.STATE_IN: zero_state(module, B)}
    out = module.forward_train(batch)
    assert out[Columns.EMBEDDINGS].shape == (B, T, H + 3)
    from_embeddings = module.compute_values(batch, embeddings=out[Columns.EMBEDDINGS])
    assert from_embeddings.shape == (B, T)
    torch.testing.assert_close(module.compute_values(batch), from_embeddings, rtol=0, atol=0)


def test_inference_only_module_has_no_value_head_and_acts_like_the_full_one() -> None:
    full, light = build(), build(inference_only=True)
    assert not hasattr(light, "value_head") and hasattr(full, "value_head")
    assert not any(k.startswith("value_head") for k in full.get_state(inference_only=True))
    light.set_state(full.get_state(inference_only=True))
    batch = {Columns.OBS: inputs(4), Columns.STATE_IN: zero_state(full, B)}
    torch.testing.assert_close(light.forward_inference(batch)[Columns.ACTION_DIST_INPUTS],
                               full.forward_inference(batch)[Columns.ACTION_DIST_INPUTS])


def test_policy_and_value_heads_share_no_parameters() -> None:
    module = build()
    policy = {id(p) for p in module.policy_head.parameters()}
    assert policy.isdisjoint(id(p) for p in module.value_head.parameters())


def test_rllib_notices_about_its_own_code_are_dropped_and_others_pass(caplog) -> None:
    import logging

    import memup_module.rl_module  # noqa: F401  (installs the filters, as in every EnvRunner)

    deprecation = logging.getLogger("ray._common.deprecation")
    with caplog.at_level(logging.WARNING):
        deprecation.warning("DeprecationWarning: `RLModule(config=[RLModuleConfig object])`")
        deprecation.warning("DeprecationWarning: `something_else` has been deprecated")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["DeprecationWarning: `something_else` has been deprecated"]
