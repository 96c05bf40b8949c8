"""What feeds phase I's training loop: episodes (from the store, or generated for held-out
sets) are prefetched on a thread, prepared into per-step columns, scored by the detector, and
handed out r steps at a time by the slots."""
