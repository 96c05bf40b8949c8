"""Validated settings of phase II: RLlib IMPALA on the MemUP policy module (docs/design.md §7).

Only plain field types (int, float, bool, str, tuple, a mapping of plain values), so a
preset's `impala:` section builds it. How the defaults were measured: docs/results.md §3.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from envs.validation import require_bool, require_int, require_real
from learner.impala.evaluation.confidence import episodes_to_show
from memup_module.rl_module import DEFAULTS as MODULE_DEFAULTS


@dataclasses.dataclass(frozen=True)
class ImpalaConfig:
    """IMPALA (RLlib new API stack) on the run's env with `MemUPPolicyModule`."""

    num_env_runners: int | str = "auto"
    """Remote EnvRunner actors (1 CPU each); 0 samples on the driver's local EnvRunner. "auto":
    one per CPU of the cluster's workers (`memup node` marks them) and 0 on one machine."""
    num_envs_per_env_runner: int = 64
    """Envs per EnvRunner, stepped as one vector env (numpy for the T-Maze). The first junction
    reward comes after ~L x this many env steps."""
    rollout_fragment_length: int = 64
    """Env steps per sub-env per `sample()` call (one episode chunk)."""
    max_seq_len: int = MODULE_DEFAULTS["max_seq_len"]
    """Length of the train-time recurrent sequences (the policy module's default, 65).
    rollout_fragment_length + 1 fits each chunk plus IMPALA's appended bootstrap step into
    exactly one row (no padding rows)."""
    train_batch_size_per_learner: int = 4096
    """Env steps per train batch; a multiple of num_envs_per_env_runner x
    rollout_fragment_length, because IMPALA trains on whole `sample()` results."""
    minibatch_size: int = 1024
    """Env steps per Adam step: each train batch gives train_batch_size_per_learner /
    minibatch_size updates."""
    num_epochs: int = 1
    """Passes over each train batch (IMPALA's V-trace corrects the growing off-policyness)."""
    sampler_wait_s: float = 0.05
    """How long a training step waits for remote EnvRunner results (RLlib's
    `timeout_s_sampler_manager`; IMPALA's 0 makes the driver spin). Unused with 0 runners."""
    lr: float = 1e-3
    """Adam learning rate of the heads."""
    memory_lr_multiplier: float = 1.0
    """With `freeze_memory: false`, the memory's learning rate is lr x this."""
    entropy_coeff: float = 0.003
    """Entropy bonus (mean over steps). Scale it with the rewards: the soft-optimal policy's
    odds between two actions are exp(advantage gap / coeff)."""
    explore_repeat_prob: float = 0.0
    """Chance per step that an EnvRunner's sub-env starts holding a random action for a
    heavy-tailed number of steps (temporally extended exploration; V-trace sees the true
    behaviour probabilities, learner.impala.inputs.exploration). 0: off."""
    explore_repeat_exponent: float = 2.0
    """P(a held run lasts n steps) ∝ n^-explore_repeat_exponent."""
    vf_loss_coeff: float = 0.25
    """Value-loss weight; it matters only where the value loss reaches a trainable memory (the
    baseline), so it is kept below IMPALA's 0.5."""
    gamma: float = 0.99
    """Discount."""
    grad_clip: float = 40.0
    """Global-norm gradient clip, per optimizer (heads; memory when trained)."""
    head_hiddens: tuple[int, ...] = MODULE_DEFAULTS["head_hiddens"]
    """Hidden widths of each of the policy and value MLPs."""
    obs_encoder_size: int = MODULE_DEFAULTS["obs_encoder_size"]
    """Width of each head's encoder of the raw observation o_t."""
    freeze_memory: bool = True
    """Keep the pretrained memory fixed (phase II default); the baseline always trains it."""
    train_env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments that replace the run env's own in the envs IMPALA trains on (e.g. a
    shorter maze; docs/design.md §13); evaluation stays on the run's env. `{}`: the run's env."""
    max_env_steps: int = 5_000_000
    """Env-step budget; on the T-Maze training stops earlier once greedy success reaches
    `target_success`. Any other env trains for the whole budget."""
    target_success: float = 0.99
    """Greedy T-Maze success rate that ends training (unused for other envs, whose success
    rate is only the fraction of episodes with a return > 0)."""
    eval_every_iterations: int = 5
    """Training iterations (`algo.train()` calls) between greedy evaluations. A round is
    skipped while no training episode has ended since the last one."""
    eval_episodes: int = 256
    """Held-out episodes per evaluation, generated from `eval_seed` (never training data); each
    round runs them greedy and with sampled actions."""
    eval_success_claim: float | None = None
    """Size the held-out evaluation by what it must show instead of `eval_episodes`: the
    fewest episodes that, all successful, put the one-sided 95 % Clopper-Pearson lower bound on
    the success rate at this value (0.95: 59 episodes; 200 episodes show 0.985). Every
    evaluation reports that bound as `impala/success_lower_bound`."""
    eval_screen_episodes: int = 64
    """T-Maze: each round first runs this many of the held-out episodes and the whole set only
    once they reach `target_success` (or when the budget is spent). 0: the whole set."""
    eval_sampled: bool = True
    """Also run the held-out episodes with actions sampled from the policy each round
    (`impala/sampled_mean_return`, part of MMER). Doubles the evaluation time."""
    eval_beside_training: bool = False
    """T-Maze (an env with a junction cue): run each round in a worker process while training
    goes on, on the core the driver leaves free (learner/impala/evaluation/rounds.py); its
    figures arrive some iterations later and the weights it found good are the ones saved.
    Greedy only (`eval_sampled: false`)."""
    eval_seed: int = 2_000_003
    """Seed of the held-out evaluation episodes."""
    checkpoint_every_iterations: int = 50
    """Training iterations between algorithm checkpoints that `--resume` continues from (0:
    none)."""
    min_time_s_per_iteration: float = 0.0
    """RLlib's minimum wall-clock per `algo.train()` (IMPALA's default is 10 s; 0 makes one
    iteration one learner update, so evaluations come at a predictable step count)."""
    batched_env_runner: bool = True
    """EnvRunners record each vector step batched and write whole episode segments
    (learner.impala.inputs.batched_runner) instead of RLlib's per-sub-env, per-step episode
    calls; false: RLlib's `SingleAgentEnvRunner`. Same episodes either way."""
    num_learners: int | str = "auto"
    """IMPALA learner processes. 0: the learner runs on a thread of the driver, where it
    shares the GIL with sampling. "auto": one learner actor when the cluster has a GPU for it,
    or, on one machine with local sampling, when Ray has a CPU free for it (sampling + learning
    ran at 1.7x the rate of a driver learner on 2 cores, docs/results.md §3); else 0."""
    num_gpus_per_learner: str | float = "auto"
    """"auto": the learner gets a GPU when the Ray cluster has one, else it learns on a CPU
    (where `num_learners` puts it). Or a number: 0 forces CPU; > 0 asks for that many GPUs per
    learner."""
    num_threads: int = 1
    """torch intra-op threads of the driver (local sampling, a CPU learner, evaluation); 1 by
    default (docs/results.md §3)."""
    seed: int = 0
    """Seed of RLlib (network initialisation, env runners' env seeds)."""

    def __post_init__(self) -> None:
        if isinstance(self.head_hiddens, list):
            object.__setattr__(self, "head_hiddens", tuple(self.head_hiddens))
        if not isinstance(self.train_env_kwargs, Mapping) or not all(
                isinstance(key, str) for key in self.train_env_kwargs):
            raise ValueError("impala.train_env_kwargs must map the env's keyword arguments "
                             "to values, e.g. {corridor_length: 1000}, got "
                             f"{self.train_env_kwargs!r}")
        object.__setattr__(self, "train_env_kwargs", dict(self.train_env_kwargs))
        for name in ("num_env_runners", "num_learners"):
            if getattr(self, name) != "auto":
                require_int(f"impala.{name}", getattr(self, name), 0)
        for name in ("seed", "eval_seed"):
            require_int(f"impala.{name}", getattr(self, name), 0)
        for name in ("num_envs_per_env_runner", "rollout_fragment_length", "max_seq_len",
                     "train_batch_size_per_learner", "minibatch_size", "num_epochs",
                     "num_threads", "obs_encoder_size", "max_env_steps", "eval_every_iterations"):
            require_int(f"impala.{name}", getattr(self, name), 1)
        if self.eval_success_claim is None:
            require_int("impala.eval_episodes", self.eval_episodes, 200)
        else:
            require_real("impala.eval_success_claim", self.eval_success_claim, 0.0, 1.0,
                         open_low=True)
            if self.eval_success_claim == 1.0:
                raise ValueError("impala.eval_success_claim must be below 1: no number of "
                                 "episodes shows a success rate of exactly 1, e.g. use 0.95")
        require_int("impala.eval_screen_episodes", self.eval_screen_episodes, 0)
        require_int("impala.checkpoint_every_iterations", self.checkpoint_every_iterations, 0)
        if not isinstance(self.head_hiddens, tuple):
            raise ValueError(
                f"impala.head_hiddens must be a list of widths, got {self.head_hiddens!r}"
            )
        for width in self.head_hiddens:
            require_int("impala.head_hiddens[]", width, 1)
        require_real("impala.lr", self.lr, 0.0, 1.0, open_low=True)
        require_real("impala.memory_lr_multiplier", self.memory_lr_multiplier, 0.0, 1e3,
                     open_low=True)
        require_real("impala.entropy_coeff", self.entropy_coeff, 0.0, 10.0)
        require_real("impala.explore_repeat_prob", self.explore_repeat_prob, 0.0, 1.0)
        require_real("impala.explore_repeat_exponent", self.explore_repeat_exponent, 1.0,
                     open_low=True)
        require_real("impala.vf_loss_coeff", self.vf_loss_coeff, 0.0, 100.0)
        require_real("impala.gamma", self.gamma, 0.0, 1.0)
        require_real("impala.grad_clip", self.grad_clip, 0.0, math.inf, open_low=True)
        require_real("impala.target_success", self.target_success, 0.0, 1.0)
        require_real("impala.min_time_s_per_iteration", self.min_time_s_per_iteration, 0.0,
                     3600.0)
        require_real("impala.sampler_wait_s", self.sampler_wait_s, 0.0, 60.0)
        require_bool("impala.freeze_memory", self.freeze_memory)
        require_bool("impala.batched_env_runner", self.batched_env_runner)
        require_bool("impala.eval_sampled", self.eval_sampled)
        require_bool("impala.eval_beside_training", self.eval_beside_training)
        if self.eval_beside_training and self.eval_sampled:
            raise ValueError("impala.eval_beside_training runs the greedy evaluation only: set "
                             "impala.eval_sampled: false, or eval_beside_training: false")
        self.gpus_per_learner(cluster_gpus=0.0)  # validates the setting
        chunk = self.num_envs_per_env_runner * self.rollout_fragment_length
        if self.train_batch_size_per_learner % chunk:
            nearest = max(chunk, round(self.train_batch_size_per_learner / chunk) * chunk)
            raise ValueError(
                f"impala.train_batch_size_per_learner ({self.train_batch_size_per_learner}) must "
                f"be a multiple of num_envs_per_env_runner x rollout_fragment_length ({chunk}); "
                f"IMPALA trains on whole sample() results, e.g. use {nearest}"
            )
        if (self.minibatch_size % self.rollout_fragment_length
                or self.minibatch_size > self.train_batch_size_per_learner):
            raise ValueError(
                f"impala.minibatch_size ({self.minibatch_size}) must be a multiple of "
                f"rollout_fragment_length ({self.rollout_fragment_length}) and at most "
                f"train_batch_size_per_learner ({self.train_batch_size_per_learner})"
            )

    @property
    def held_out_episodes(self) -> int:
        """Episodes per held-out evaluation: `eval_episodes`, or what `eval_success_claim`
        needs."""
        if self.eval_success_claim is None:
            return self.eval_episodes
        return episodes_to_show(self.eval_success_claim)

    def env_runners_for(self, worker_cpus: int) -> int:
        """Remote EnvRunners given the CPUs of the cluster's workers (resolves "auto")."""
        return worker_cpus if self.num_env_runners == "auto" else int(self.num_env_runners)

    def learners_for(self, gpus: float, runners: int, free_cpus: float) -> int:
        """Learner actors given the learner's GPUs, the remote EnvRunners and the CPUs Ray
        has free (resolves "auto")."""
        if self.num_learners != "auto":
            return int(self.num_learners)
        if gpus > 0:
            return 1
        return 1 if runners == 0 and free_cpus >= 1 else 0

    def gpus_per_learner(self, cluster_gpus: float) -> float:
        """GPUs for the learner given the cluster's GPU count (resolves "auto")."""
        setting = self.num_gpus_per_learner
        if setting == "auto":
            return 1.0 if cluster_gpus >= 1 else 0.0
        try:
            gpus = float(setting)
        except (TypeError, ValueError):
            raise ValueError(
                f'impala.num_gpus_per_learner must be "auto" or a number >= 0, got {setting!r}'
            ) from None
        if not math.isfinite(gpus) or gpus < 0:
            raise ValueError(f"impala.num_gpus_per_learner must be >= 0, got {setting!r}")
        return gpus
