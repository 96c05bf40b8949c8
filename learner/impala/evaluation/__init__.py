"""Held-out evaluation of a policy: greedy and sampled returns through RLlib's module
(`held_out`), the streamed greedy evaluation for million-step mazes (`streaming`, over worker
processes in `workers`), and the cue probe of junction memory states (`cue_probe`)."""
