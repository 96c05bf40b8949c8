"""Phase II: RLlib IMPALA trains policy and value heads on the pretrained memory.

    result = train_policy(tmaze, ImpalaConfig(), memory_path=run.memory, policy_dir=run.policy)
    policy = RLModule.from_checkpoint(run.policy)          # MemUPPolicyModule
    greedy_evaluate(policy, tmaze, episodes=256, seed=2_000_003).success_rate

`runner` builds RLlib's `IMPALAConfig` (`env`: the vector T-Maze with agent inputs on every
EnvRunner; `learner`: IMPALA's torch learner with a separate optimizer for a trainable memory)
and loops `algo.train()` until `policy_eval`'s greedy success reaches the target or the
env-step budget ends. `baseline=True` trains the same module from a random memory.
`stream_evaluate` runs the same greedy evaluation without RLlib's per-step machinery, fast
enough for million-step mazes; `CueProbe` reads the cue from its junction memory states.
"""

from learner.impala.config import ImpalaConfig
from learner.impala.cue_probe import CueProbe
from learner.impala.policy_eval import GreedyResult, greedy_evaluate
from learner.impala.runner import MissingMemoryError, module_settings, train_policy
from learner.impala.streaming_eval import StreamResult, stream_evaluate

__all__ = [
    "CueProbe",
    "GreedyResult",
    "ImpalaConfig",
    "MissingMemoryError",
    "StreamResult",
    "greedy_evaluate",
    "module_settings",
    "stream_evaluate",
    "train_policy",
]
