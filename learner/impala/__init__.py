"""Phase II: RLlib IMPALA trains policy and value heads on the pretrained memory.

    result = train_policy(env, ImpalaConfig(), memory_path=run.memory, policy_dir=run.policy)
    policy = RLModule.from_checkpoint(run.policy)          # MemUPPolicyModule
    greedy_evaluate(policy, env, episodes=256, seed=2_000_003).mean_return
    sampled_evaluate(policy, env, episodes=256, seed=2_000_003).mean_return

`env` is the run's `envs.EnvSpec` (any gymnasium id with discrete actions). `algo_config`
builds RLlib's `IMPALAConfig` (`env`: the run's vector env with agent inputs on every EnvRunner,
stepped by `inputs.batched_runner`'s EnvRunner through `inputs.connectors`' lean batched
pipelines instead of RLlib's per-sub-env defaults; `learner`: IMPALA's torch learner with a
separate optimizer for a trainable memory); `training` loops `algo.train()` until the env-step
budget ends or, for an env that reports success, `evaluation.held_out`'s greedy success
reaches the target; it reports greedy and sampled
held-out returns and MMER. `baseline=True` trains the same module from a random memory. For an
env with a `junction_cue`, `stream_evaluate` runs the greedy evaluation without RLlib's per-step
machinery, fast enough for million-step mazes; `CueProbe` reads the cue from its junction
memory states.
"""

from learner.impala.config import ImpalaConfig
from learner.impala.evaluation.cue_probe import CueProbe
from learner.impala.evaluation.held_out import GreedyResult, greedy_evaluate, sampled_evaluate
from learner.impala.training import MissingMemoryError, module_settings, train_policy
from learner.impala.evaluation.streaming import StreamResult, stream_evaluate

__all__ = [
    "CueProbe",
    "GreedyResult",
    "ImpalaConfig",
    "MissingMemoryError",
    "StreamResult",
    "greedy_evaluate",
    "module_settings",
    "sampled_evaluate",
    "stream_evaluate",
    "train_policy",
]
