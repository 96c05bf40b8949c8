"""RLlib's IMPALA config (new API stack) for `MemUPPolicyModule` on the run's vector env: the
EnvRunners (batched, with the lean connectors and the episode sink), the learner (placement,
optimizers) and the training settings, all from `ImpalaConfig` (docs/design.md §7).

    algo = build_impala_config(env_spec, ImpalaConfig(), model_config).build_algo()
"""

from __future__ import annotations

import functools

from ray.rllib.algorithms.impala import IMPALAConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from actors.placement import head_resources, worker_resources
from envs import EnvSpec
from learner.impala.config import ImpalaConfig
from learner.impala.episode_sink import EpisodeSink, SinkSettings
from learner.impala.inputs.batched_runner import BatchedEnvRunner
from learner.impala.inputs.connectors import env_to_module, module_to_env
from learner.impala.inputs.env import register_rllib_env, rllib_env_config
from learner.impala.inputs.exploration import ExplorationSettings
from learner.impala.learner import MEMORY_LR_MULTIPLIER, MemUPImpalaLearner
from memup_module.rl_module import MemUPPolicyModule


def build_impala_config(env: EnvSpec, impala: ImpalaConfig, model_config: dict,
                        *, cluster: dict[str, float] | None = None,
                        worker_cpus: int = 0, free_cpus: float = 0.0,
                        lean_connectors: bool = True,
                        sink: SinkSettings | None = None) -> IMPALAConfig:
    """RLlib's IMPALA config (new API stack) for `MemUPPolicyModule` on the run's vector env.
    `cluster` (`ray.cluster_resources()`) and `worker_cpus` place it: EnvRunners on the
    workers, a remote learner on the head, where the cluster marks them (actors.placement).
    `free_cpus` (Ray's unclaimed CPUs) lets "auto" give a CPU learner its own process.
    `lean_connectors`: the EnvRunners' batched connectors (learner.impala.inputs.connectors) instead
    of RLlib's default per-sub-env pipelines (kept for comparison in tests and the bench).
    `sink`: the EnvRunners also put every episode they play into that store."""
    cluster = cluster or {}
    gpus = impala.gpus_per_learner(cluster.get("GPU", 0.0))
    runners = impala.env_runners_for(worker_cpus)
    learners = impala.learners_for(gpus, runners, free_cpus)
    exploration = ExplorationSettings(impala.explore_repeat_prob,
                                      impala.explore_repeat_exponent, env.max_episode_steps)
    if exploration.repeat_prob > 0 and not lean_connectors:
        raise ValueError("impala.explore_repeat_prob needs the lean connectors")
    batched = impala.batched_env_runner and lean_connectors
    return (
        IMPALAConfig()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        # Discrete actions need no unsquashing; RLlib's default would still walk every action.
        .environment(env=register_rllib_env(), env_config=rllib_env_config(env, sink),
                     normalize_actions=False)
        .callbacks(EpisodeSink)
        .env_runners(
            env_runner_cls=BatchedEnvRunner if batched else SingleAgentEnvRunner,
            num_env_runners=runners,
            custom_resources_per_env_runner=worker_resources(cluster) if runners else {},
            num_envs_per_env_runner=impala.num_envs_per_env_runner,
            gym_env_vectorize_mode="vector_entry_point",
            rollout_fragment_length=impala.rollout_fragment_length,
            add_default_connectors_to_env_to_module_pipeline=not lean_connectors,
            add_default_connectors_to_module_to_env_pipeline=not lean_connectors,
            env_to_module_connector=env_to_module if lean_connectors else None,
            module_to_env_connector=(functools.partial(module_to_env, exploration=exploration)
                                     if lean_connectors else None),
        )
        .learners(
            # A learner actor (on the head where the cluster marks one) learns on its own
            # core or GPU while the driver samples; in the driver it would share the GIL.
            num_learners=learners,
            num_gpus_per_learner=gpus,
            custom_resources_per_learner=head_resources(cluster) if learners else {},
            learner_class=MemUPImpalaLearner,
            learner_config_dict={MEMORY_LR_MULTIPLIER: impala.memory_lr_multiplier},
        )
        .training(
            train_batch_size_per_learner=impala.train_batch_size_per_learner,
            minibatch_size=impala.minibatch_size,
            num_epochs=impala.num_epochs,
            lr=impala.lr,
            entropy_coeff=impala.entropy_coeff,
            vf_loss_coeff=impala.vf_loss_coeff,
            gamma=impala.gamma,
            grad_clip=impala.grad_clip,
            timeout_s_sampler_manager=impala.sampler_wait_s,
        )
        .rl_module(rl_module_spec=RLModuleSpec(module_class=MemUPPolicyModule,
                                               model_config=model_config))
        # With remote EnvRunners a training_step may find no samples ready: one iteration
        # (one evaluation period) lasts at least one train batch of env steps.
        .reporting(min_time_s_per_iteration=impala.min_time_s_per_iteration,
                   min_sample_timesteps_per_iteration=impala.train_batch_size_per_learner)
        .debugging(seed=impala.seed, log_level="WARN")
    )
