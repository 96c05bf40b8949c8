"""Phase II: RLlib IMPALA trains the policy and value heads on the pretrained memory.

    result = train_policy(env_spec, ImpalaConfig(), memory_path=run.memory,
                          policy_dir=run.policy, on_metrics=MetricsWriter(run.metrics).write)
    # env_spec: the run's `envs.EnvSpec` (RunConfig.env), any gymnasium id with discrete actions
    # RLModule.from_checkpoint(run.policy) restores it

Loop: `algo.train()` (sample one train batch with the EnvRunners, Adam steps on its
minibatches) until the env-step budget is spent or, for an env that reports success (the
T-Maze), greedy success on held-out episodes reaches `target_success`. Other envs always train
for the whole budget: their success rate (return > 0) is too rough a figure to stop on, and
POPGym's protocol compares returns at a fixed budget. Each evaluation round (greedy and sampled held-out returns) goes to
`on_metrics` and `memup_impala_*` gauges. MMER (POPGym's max-mean episodic return) is the
running maximum of the sampled policy's mean episodic return: RLlib's training
`episode_return_mean` once it averages a full smoothing window of episodes, and the sampled
held-out return of every round (None until an episode has ended).
`baseline=True` trains the same module from a random, trainable memory under the same budget
(IMPALA-LSTM). `memory.pt` is all this phase takes from phase I; the caller names the paths.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.rl_module import RLModule, RLModuleSpec
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    EPISODE_RETURN_MEAN,
    LEARNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES_LIFETIME,
)
from tqdm import tqdm

from actors.placement import worker_cpus
from envs import EnvSpec
from learner.impala.config import ImpalaConfig
from learner.impala.algo_config import build_impala_config
from learner.impala.episode_sink import SinkSettings
from learner.impala.inputs.env import make_agent_env, rllib_env_config
from learner.impala.checkpoint import AlgoCheckpoints
from learner.impala.runtime import ray_session, torch_threads
from learner.impala.evaluation.held_out import sampled_metrics
from learner.impala.evaluation.rounds import BesideRounds, InLineRounds
from learner.metrics import RayGaugeExporter
from memup_module.config import MemoryConfig
from memup_module.memory_io import load_memory
from memup_module.rl_module import MemUPPolicyModule, policy_model_config

log = logging.getLogger(__name__)

MetricsCallback = Callable[[int, dict[str, float]], None]
"""`on_metrics(env_steps, {"impala/...": value})`, called once per evaluation round, e.g.
`MetricsWriter(run.metrics).write`."""

MEMORY_VERSION = "online/memory_version"
"""The figure `after_iteration` reports the memory version under (the online loop)."""

_LEARNER_KEYS = {"mean_pi_loss": "pi_loss", "mean_vf_loss": "vf_loss", "entropy": "entropy"}


class MissingMemoryError(FileNotFoundError):
    """Phase II was asked to start from a memory file that does not exist."""


def module_settings(impala: ImpalaConfig, *, memory_path: Path | None, baseline: bool,
                    env_spec: EnvSpec | None = None) -> dict:
    """The module's `model_config`: the pretrained memory (frozen per the config), or for the
    baseline a random, trainable memory of the same architecture as `memory_path`'s (the
    module's default architecture, sized for `env_spec`'s inputs, when there is no such file)."""
    common = dict(obs_encoder_size=impala.obs_encoder_size, head_hiddens=impala.head_hiddens,
                  max_seq_len=impala.max_seq_len)
    found = memory_path is not None and Path(memory_path).is_file()
    if baseline:
        if found:
            memory = dataclasses.asdict(load_memory(memory_path).config)
        elif env_spec is not None:
            memory = {"obs_dim": env_spec.obs_dim, "num_actions": env_spec.num_actions}
        else:
            memory = None
        return policy_model_config(memory=memory, freeze_memory=False, **common)
    if not found:
        raise MissingMemoryError(
            f"no pretrained memory at {memory_path}: run phase I first (`memup pretrain --config "
            "... --run-dir ...`) or pass --memory PATH to a memory.pt"
        )
    # The weights go inside the config: remote EnvRunners and learners get them through Ray.
    memory = load_memory(memory_path)
    state = {name: value.numpy() for name, value in memory.state_dict().items()}
    return policy_model_config(memory=dataclasses.asdict(memory.config), memory_state=state,
                               freeze_memory=impala.freeze_memory, **common)


def train_policy(
    env: EnvSpec,
    impala: ImpalaConfig,
    *,
    train_env: EnvSpec | None = None,
    memory_path: Path | None,
    policy_dir: Path,
    baseline: bool = False,
    on_metrics: MetricsCallback | None = None,
    progress: bool = True,
    sink: SinkSettings | None = None,
    after_iteration: Callable[[Any], dict[str, float]] | None = None,
    checkpoint_dir: Path | None = None,
    reserved_worker_cpus: int = 0,
    learner_actor: bool = True,
) -> dict[str, Any]:
    """Trains on `train_env` (default: `env`) until `impala.max_env_steps` (an env that reports
    success: or until greedy success on `env` >= `impala.target_success`), saves the module to `policy_dir` and returns the final figures:
    success rate, greedy and sampled mean return, MMER, env steps, wall-clock s, iterations.
    `sink`: the EnvRunners put their episodes into that store. `after_iteration(algo)` runs
    after every training iteration (the online loop swaps memories there); the figures it
    returns join the next evaluation round's metrics. `checkpoint_dir`: algorithm checkpoints
    every `impala.checkpoint_every_iterations`, continued from when it holds one (`--resume`).
    `reserved_worker_cpus`: workers' CPUs that other actors of the run hold ("auto" EnvRunners
    leave them free). `learner_actor=False`: "auto" keeps a CPU learner in the driver (for
    callers whose actors may still be claiming CPUs that Ray shows free)."""
    if train_env is None and impala.train_env_kwargs:
        raise ValueError("impala.train_env_kwargs are set: pass train_env (RunConfig.train_env "
                         "resolves it) so that phase II trains on that env")
    spec, train_env = env, train_env or env
    model_config = module_settings(impala, memory_path=memory_path, baseline=baseline,
                                   env_spec=spec)
    _check_memory_fits(spec, model_config)
    name = "baseline" if baseline else "policy"
    if train_env != spec:
        log.info("%s: trains on %s %s, evaluates on %s", name, train_env.label,
                 impala.train_env_kwargs, spec.label)
    target = Path(policy_dir)
    start = time.perf_counter()
    with ray_session(), torch_threads(impala.num_threads):
        algo = build_impala_config(train_env, impala, model_config,
                                   cluster=ray.cluster_resources(),
                                   free_cpus=(ray.available_resources().get("CPU", 0.0)
                                              if learner_actor else 0.0),
                                   worker_cpus=max(worker_cpus(ray.nodes()) - reserved_worker_cpus, 0),
                                   sink=sink).build_algo()
        setup_s = time.perf_counter() - start
        checkpoints = (AlgoCheckpoints(checkpoint_dir, impala.checkpoint_every_iterations)
                       if checkpoint_dir is not None else None)
        if checkpoints is not None:
            checkpoints.restore(algo)

        def between_iterations(algo: Any) -> dict[str, float]:
            if checkpoints is not None:
                checkpoints.after_iteration(algo)
            return after_iteration(algo) if after_iteration is not None else {}

        try:
            module = _local_module(spec, model_config)
            result, module = _train_loop(algo, module, spec, impala, name, on_metrics,
                                         progress, between_iterations)
        finally:
            algo.stop()
    module.save_to_path(target)
    if checkpoints is not None:
        checkpoints.remove()
    log.info("%s: saved to %s (%s)", name, target, result)
    return {**result, "setup_s": setup_s, "path": str(target)}


def counts_for_mmer(episodes_ended: int, smoothing_window: int) -> bool:
    """Whether RLlib's training return mean enters MMER: only once it averages a full window.
    Before that it covers the few episodes that ended first, which are the short ones; on
    MiniGrid, where ending early means reaching an object, it read 0.91 for a policy choosing
    at chance (held-out greedy 0.51)."""
    return episodes_ended >= smoothing_window


def _train_loop(algo: Any, module: RLModule, env: EnvSpec, impala: ImpalaConfig,
                name: str, on_metrics: MetricsCallback | None, progress: bool,
                after_iteration: Callable[[Any], dict[str, float]]
                ) -> tuple[dict[str, Any], RLModule]:
    """Trains until the budget or the target; (the run's figures, the module to save: the
    weights of the last round evaluated)."""
    gauges = RayGaugeExporter("memup_impala")  # memup_impala_success_rate, ...
    start = time.perf_counter()
    env_steps = iterations = episodes_at_last_eval = 0
    evaluation = sampled = None
    policy_env_steps = 0
    eval_s, mmer, train_return = 0.0, -math.inf, math.nan
    outside: dict[str, float] = {}
    rounds = (BesideRounds(env, impala) if impala.eval_beside_training
              else InLineRounds(env, impala))
    bar = tqdm(total=impala.max_env_steps, unit="step", desc=f"impala {name}",
               disable=not progress, unit_scale=True)
    try:
        while True:
            result = algo.train()
            iterations += 1
            outside.update(after_iteration(algo))
            runners = result.get(ENV_RUNNER_RESULTS, {})  # may lack keys in the first iterations
            steps_now = int(runners.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, env_steps))
            episodes = int(runners.get(NUM_EPISODES_LIFETIME, 0))
            # NaN in an iteration where no training episode ended: keep the last one seen.
            latest_return = float(runners.get(EPISODE_RETURN_MEAN, math.nan))
            if math.isfinite(latest_return):
                train_return = latest_return
                if counts_for_mmer(episodes, algo.config.metrics_num_episodes_for_smoothing):
                    mmer = max(mmer, train_return)
            bar.update(max(steps_now - env_steps, 0))
            env_steps = max(env_steps, steps_now)
            out_of_budget = env_steps >= impala.max_env_steps
            # Until an episode ends there is nothing the policy can have learned (the T-Maze's
            # only reward comes at the junction), and at L = 1000 an evaluation costs several
            # iterations.
            due = (iterations % impala.eval_every_iterations == 0
                   and episodes > episodes_at_last_eval)
            # Out of budget: a round still running, then the final weights on the whole set.
            finished = [rounds.wait()] if out_of_budget else []
            if (due or out_of_budget) and not rounds.busy:
                episodes_at_last_eval = episodes
                module.set_state(
                    algo.learner_group.get_weights([DEFAULT_MODULE_ID])[DEFAULT_MODULE_ID])
                rounds.start(module, env_steps, whole_set=out_of_budget)
            finished.append(rounds.wait() if out_of_budget else rounds.poll())
            if rounds.confirming:  # a screen passed beside training: the rest, on every core
                finished.append(rounds.wait())
            for done in filter(None, finished):
                evaluation, sampled, module = done.greedy, done.sampled, done.module
                policy_env_steps = done.env_steps
                eval_s += done.waited_s
                if sampled is not None:
                    mmer = max(mmer, sampled.mean_return)
                wall_s = time.perf_counter() - start
                metrics = _keys_for(name, _finite({
                    **evaluation.as_metrics(),
                    **(sampled_metrics(sampled) if sampled else {}),
                    "impala/mmer": mmer,
                    "impala/train_return_mean": train_return,
                    "impala/env_steps": float(done.env_steps),
                    "impala/episodes": float(episodes),
                    "impala/iterations": float(iterations),
                    "impala/wall_s": wall_s,
                    "impala/eval_s": eval_s,
                    "impala/env_steps_per_s": env_steps / max(wall_s - eval_s, 1e-9),
                    **_learner_metrics(result),
                    **outside,
                }))
                gauges.export(metrics)
                if on_metrics is not None:
                    on_metrics(done.env_steps, metrics)
                postfix = {"success": f"{evaluation.success_rate:.3f}",
                           "ret": f"{evaluation.mean_return:.3g}"}
                if MEMORY_VERSION in outside:  # the online loop's memory rides on the same line
                    postfix["memory"] = f"v{outside[MEMORY_VERSION]:.0f}"
                bar.set_postfix(**postfix)
                if _reached_target(env, evaluation.success_rate, impala):
                    break
            if out_of_budget or (evaluation is not None
                                 and _reached_target(env, evaluation.success_rate, impala)):
                break
    finally:
        rounds.close()
        bar.close()
    return {
        "success_rate": evaluation.success_rate,
        "success_lower_bound": evaluation.as_metrics()["impala/success_lower_bound"],
        "eval_episodes": evaluation.episodes,
        "mean_return": evaluation.mean_return,
        "sampled_mean_return": sampled.mean_return if sampled else None,
        "mmer": mmer if math.isfinite(mmer) else None,
        "env_steps": env_steps,
        # The saved weights' (beside training, rounds finish after training went on).
        "policy_env_steps": policy_env_steps,
        "wall_s": time.perf_counter() - start,
        "eval_s": eval_s,
        "iterations": iterations,
        "reached_target": _reached_target(env, evaluation.success_rate, impala),
    }, module


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    """Leaves out figures with no value yet (MMER, training return before any episode ended)."""
    return {key: value for key, value in metrics.items() if math.isfinite(value)}


def _reached_target(env: EnvSpec, success_rate: float, impala: ImpalaConfig) -> bool:
    """Only an env that reports success stops early: its success rate is exact, other envs'
    is return > 0."""
    return env.reports_success and success_rate >= impala.target_success


def _check_memory_fits(spec: EnvSpec, model_config: dict) -> None:
    """Fails before Ray starts when the memory was made for other observations or actions."""
    memory = MemoryConfig(**(model_config["memory"] or {}))
    if (memory.obs_dim, memory.num_actions) != (spec.obs_dim, spec.num_actions):
        raise ValueError(
            f"the memory reads {memory.obs_dim} observation values and {memory.num_actions} "
            f"actions, but env {spec.label} has {spec.obs_dim} and {spec.num_actions}: "
            "pretrain a memory on this env (phase I) or pass --memory PATH to one that was"
        )


def _keys_for(name: str, metrics: dict[str, float]) -> dict[str, float]:
    """The baseline's figures go to the same JSONL as `impala/baseline_...`."""
    if name == "policy":
        return metrics
    return {k.replace("impala/", "impala/baseline_", 1): v for k, v in metrics.items()}


def _learner_metrics(result: dict) -> dict[str, float]:
    """IMPALA's loss stats; absent in the first iterations (the learner reports late)."""
    stats = result.get(LEARNER_RESULTS, {}).get(DEFAULT_MODULE_ID, {})
    return {f"impala/{short}": float(stats[key]) for key, short in _LEARNER_KEYS.items()
            if key in stats}


def _local_module(spec: EnvSpec, model_config: dict) -> RLModule:
    """A full (value head included) CPU copy of the policy for evaluation and saving."""
    env = make_agent_env(rllib_env_config(spec))
    return RLModuleSpec(module_class=MemUPPolicyModule, observation_space=env.observation_space,
                        action_space=env.action_space, model_config=model_config).build()
