"""MemUP's networks and their math, with no training loop (docs/design.md §6).

What one phase-I update computes (the loop itself is `learner.memup`), for B slots, rollout r:

    x [B, r, 6]      = memory inputs of the next r steps of every slot
    m, state         = memory(x, state)                      # state carried, detached after
    scores           = score_episodes(detector, ...)          # once per episode, when loaded
    U_t              = select_targets(scores)                 # top-K uncertain steps k >= t
    logits           = predictor(m, context(U_t))             # [B, r, |U_t|, classes]
    loss             = masked_nll(logits, codec.encode(f[U_t]), valid)   # codec: targets.py

`MemUPModelConfig` holds what this needs (targets, score, top-K, network sizes, `MemoryConfig`).
`save_memory` / `load_memory` hand the memory to phase II as `memory.pt`, where
`rl_module.MemUPPolicyModule` runs it inside RLlib.
"""

from memup_module.targets import (
    BinnedCodec,
    ExactCodec,
    TargetCodec,
    codec_from_plain,
    codec_to_plain,
    discounted_returns,
    episode_targets,
    make_codec,
    rewards_seen,
)
from memup_module.config import MemoryConfig, MemUPModelConfig
from memup_module.losses import (
    entropy_score,
    masked_nll,
    nll_per_entry,
    squared_error_score,
    surprise_score,
)
from memup_module.memory import Memory, State
from memup_module.memory_io import MEMORY_FORMAT, load_codec, load_memory, save_memory
from memup_module.networks import ContextEncoder, Detector, Predictor, context_features
from memup_module.scoring import TIME_CHUNK, EmaModel, score_block, score_episodes
from memup_module.selector import (TARGET_SELECTIONS, select_targets, selection_scores,
                                   stream_targets, suffix_argmax, with_self)

__all__ = [
    "MEMORY_FORMAT",
    "TARGET_SELECTIONS",
    "BinnedCodec",
    "ContextEncoder",
    "Detector",
    "EmaModel",
    "ExactCodec",
    "MemUPModelConfig",
    "Memory",
    "MemoryConfig",
    "Predictor",
    "State",
    "TargetCodec",
    "codec_from_plain",
    "codec_to_plain",
    "context_features",
    "discounted_returns",
    "entropy_score",
    "episode_targets",
    "load_codec",
    "load_memory",
    "make_codec",
    "masked_nll",
    "nll_per_entry",
    "save_memory",
    "rewards_seen",
    "TIME_CHUNK",
    "score_block",
    "score_episodes",
    "select_targets",
    "selection_scores",
    "squared_error_score",
    "stream_targets",
    "suffix_argmax",
    "with_self",
    "surprise_score",
]
