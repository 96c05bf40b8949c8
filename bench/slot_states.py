"""What a T-Maze phase-I checkpoint's predictor reads from its slots' carried states, from the
same states recomputed with the current weights, and from held-out episodes at several depths
(docs/results.md §4, "Training at 100 000").

    python -m bench.slot_states --run-dir runs/t100k-s1 --checkpoint runs/t100k-s1/memup/checkpoints/ckpt-000004000.pt

Each answer is the predictor's class for the junction (the episode's last step) from a memory
state and the junction's context. Carried states right and recomputed ones wrong means memory
and predictor have fitted the slots' answers to states the memory would not compute.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from app.config import load_config
from learner.memup.evaluation import HeldOutSet, memory_at
from learner.memup.inputs.episodes import InMemorySource, generate_episodes
from learner.memup.state_refresh import recomputed_states
from learner.memup.training import MemUPTrainer

DEPTHS = (10, 100, 1_000, 10_000, 30_000, 60_000, 90_000)
HELD_OUT_SEED = 12_345


@torch.no_grad()
def junction_guess(trainer: MemUPTrainer, m: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """m [N, H], context [N, F] of each junction -> the predicted class [N]."""
    return trainer.predictor(m, context.unsqueeze(1)).squeeze(1).argmax(-1)


def slot_answers(trainer: MemUPTrainer) -> dict[str, float]:
    """Accuracy at the junction of each live slot's episode, carried vs recomputed state."""
    slots = trainer.slots
    live = [s for s, e in enumerate(slots.episodes)
            if e is not None and 0 < slots.cursors[s] < slots.lengths[s]]
    fresh = recomputed_states(trainer.memory, slots, trainer.state)
    context = torch.stack([torch.from_numpy(slots.episodes[s].columns.context(
        slots.episodes[s].length - 1, slots.episodes[s].length)[0]) for s in live])
    truth = torch.tensor([int(slots.episodes[s].columns.classes[-1]) for s in live])
    carried = junction_guess(trainer, trainer.state[0][live], context)
    recomputed = junction_guess(trainer, fresh[0][live], context)
    return {"slots": len(live), "carried": (carried == truth).float().mean().item(),
            "recomputed": (recomputed == truth).float().mean().item()}


def held_out_by_depth(trainer: MemUPTrainer, held_out: HeldOutSet) -> dict[int, float]:
    """Accuracy at the junction from m_t at each depth t < the episodes' shortest length."""
    batch, last = held_out.batch, held_out.batch.lengths - 1
    context = batch.context[torch.arange(len(last)), last]
    depths = [d for d in DEPTHS if d < int(last.min())]
    m = memory_at(trainer.memory, batch, torch.tensor(depths, device=last.device).expand(len(last), -1))
    return {depth: (junction_guess(trainer, m[:, i], context) == held_out.last_classes)
            .float().mean().item() for i, depth in enumerate(depths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--episodes", type=int, default=16, help="held-out episodes")
    args = parser.parse_args()
    config = load_config(args.run_dir / "config.yaml")
    episodes = generate_episodes(config.env, args.episodes, HELD_OUT_SEED)
    trainer = MemUPTrainer(config.memup, InMemorySource(episodes), config.env)
    trainer.restore(args.checkpoint)
    held_out = HeldOutSet.build(episodes, config.memup, trainer.codec, trainer.device)
    print("slots:", slot_answers(trainer))
    for depth, accuracy in held_out_by_depth(trainer, held_out).items():
        print(f"held-out, m at depth {depth}: {accuracy:.3f}")


if __name__ == "__main__":
    main()
