"""ImpalaConfig: defaults are valid, bad settings fail before any work with a helpful message."""

from __future__ import annotations

import dataclasses

import pytest

from envs import tmaze_spec
from app.config_io import ConfigError, build
from learner.impala.config import ImpalaConfig
from learner.impala.inputs.env import rllib_env_config
from learner.impala.algo_config import build_impala_config
from learner.impala.training import module_settings


def test_defaults_are_valid_and_round_trip_through_a_mapping() -> None:
    config = ImpalaConfig()
    assert config.eval_episodes >= 200 and config.freeze_memory
    assert build(ImpalaConfig, dataclasses.asdict(config)) == config
    assert build(ImpalaConfig, {"head_hiddens": [32, 32], "lr": "3e-4"}).head_hiddens == (32, 32)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"eval_episodes": 100}, "eval_episodes must be >= 200"),
        ({"lr": 0.0}, "lr must be a number in"),
        ({"train_batch_size_per_learner": 1000}, "multiple of num_envs_per_env_runner"),
        ({"minibatch_size": 1000}, "minibatch_size"),
        ({"num_gpus_per_learner": "many"}, 'num_gpus_per_learner must be "auto"'),
        ({"freeze_memory": "yes"}, "freeze_memory must be true or false"),
        ({"head_hiddens": (0,)}, "head_hiddens"),
        ({"target_success": 1.5}, "target_success"),
        ({"sampler_wait_s": -1.0}, "sampler_wait_s"),
        ({"eval_success_claim": 1.0}, "eval_success_claim must be below 1"),
        ({"eval_success_claim": 0.0}, "eval_success_claim must be a number in"),
    ],
)
def test_bad_settings_name_the_field(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImpalaConfig(**settings)
    with pytest.raises(ConfigError, match=message):
        build(ImpalaConfig, settings)


def test_gpu_learner_only_when_the_cluster_has_a_gpu() -> None:
    assert ImpalaConfig().gpus_per_learner(cluster_gpus=0) == 0
    assert ImpalaConfig().gpus_per_learner(cluster_gpus=2) == 1
    assert ImpalaConfig(num_gpus_per_learner=0).gpus_per_learner(cluster_gpus=2) == 0


def test_a_learner_actor_where_a_gpu_or_a_free_cpu_beside_local_sampling_allows() -> None:
    auto = ImpalaConfig()
    assert auto.learners_for(gpus=1.0, runners=4, free_cpus=0.0) == 1
    assert auto.learners_for(gpus=0.0, runners=0, free_cpus=1.0) == 1
    assert auto.learners_for(gpus=0.0, runners=0, free_cpus=0.5) == 0  # no core to learn on
    assert auto.learners_for(gpus=0.0, runners=2, free_cpus=3.0) == 0  # the driver only learns
    assert ImpalaConfig(num_learners=0).learners_for(gpus=1.0, runners=0, free_cpus=2.0) == 0
    with pytest.raises(ValueError, match="num_learners"):
        ImpalaConfig(num_learners="two")
    model_config = module_settings(auto, memory_path=None, baseline=True)
    config = build_impala_config(tmaze_spec(50), auto, model_config, cluster={"CPU": 2.0},
                                 free_cpus=2.0)
    assert (config.num_learners, config.num_gpus_per_learner) == (1, 0.0)


def test_rllib_config_carries_the_preset(tmp_path) -> None:
    impala = ImpalaConfig(lr=2e-3, entropy_coeff=0.01, vf_loss_coeff=0.1, gamma=0.95,
                          grad_clip=5.0, max_seq_len=20)
    model_config = module_settings(impala, memory_path=None, baseline=True)
    config = build_impala_config(tmaze_spec(50), impala, model_config, cluster={"GPU": 1.0})
    assert (config.lr, config.entropy_coeff, config.vf_loss_coeff, config.gamma,
            config.grad_clip) == (2e-3, 0.01, 0.1, 0.95, 5.0)
    assert config.num_envs_per_env_runner == impala.num_envs_per_env_runner
    assert config.gym_env_vectorize_mode == "vector_entry_point"
    assert (config.num_learners, config.num_gpus_per_learner) == (1, 1.0)
    assert config.env_config == rllib_env_config(tmaze_spec(50))
    assert config.rl_module_spec.model_config["max_seq_len"] == 20
    assert config.timeout_s_sampler_manager == impala.sampler_wait_s > 0  # no spinning driver


def test_on_a_cluster_env_runners_fill_the_workers_and_the_learner_stays_on_the_head() -> None:
    impala = ImpalaConfig()
    model_config = module_settings(impala, memory_path=None, baseline=True)
    cluster = {"CPU": 5.0, "GPU": 1.0, "memup_head": 1.0, "memup_worker": 2.0}
    config = build_impala_config(tmaze_spec(50), impala, model_config, cluster=cluster,
                                 worker_cpus=4)
    assert config.num_env_runners == 4
    assert config.custom_resources_per_env_runner == {"memup_worker": 0.001}
    assert config.custom_resources_per_learner == {"memup_head": 0.001}
    # One machine: no marked nodes, "auto" samples on the driver.
    local = build_impala_config(tmaze_spec(50), impala, model_config, cluster={"CPU": 2.0})
    assert (local.num_env_runners, local.custom_resources_per_env_runner) == (0, {})
    fixed = build_impala_config(tmaze_spec(50), ImpalaConfig(num_env_runners=1), model_config,
                                cluster=cluster, worker_cpus=4)
    assert fixed.num_env_runners == 1


def test_a_success_claim_sizes_the_held_out_evaluation() -> None:
    assert ImpalaConfig(eval_episodes=256).held_out_episodes == 256
    # 59 successes of 59 bound the rate at 0.9505 (95 %); 58 of 58 only at 0.9496.
    sized = ImpalaConfig(eval_success_claim=0.95)
    assert sized.held_out_episodes == 59
    # The claim replaces eval_episodes' floor of 200: it states what the episodes must show.
    assert build(ImpalaConfig, {"eval_success_claim": 0.9, "eval_episodes": 10}
                 ).held_out_episodes == 29
