"""MemUP on POPGym RepeatFirstEasy: the memory predicts what the local context cannot
(held-out memory gain well above zero; make test-slow)."""

import pytest

from envs import EnvConfig, describe_env
from learner.memup import MemUPConfig
from learner.memup.config import with_env_sizes
from learner.memup.inputs.episodes import generated_source
from learner.memup.training import MemUPTrainer

pytest.importorskip("popgym")


def test_memup_memory_gain_on_repeat_first_easy(tmp_path):
    env = describe_env(EnvConfig("popgym-RepeatFirstEasy-v0", {}, ("popgym",)))
    config = MemUPConfig(batch_slots=32, rollout=4, top_k=4, max_updates=2000, eval_every=500,
                         eval_episodes=128, prefetch_episodes=0, memory={"hidden_size": 64})
    config = with_env_sizes(config, env.obs_dim, env.num_actions)
    trainer = MemUPTrainer(config, generated_source(env, 512, seed=0), env)
    try:
        metrics = trainer.train_until(progress=False)
        trainer.export_memory(tmp_path / "memory.pt")
    finally:
        trainer.close()
    # A random action names the first card 1 time in 4: the context alone can only say "wrong".
    assert metrics["memup/context_accuracy"] < 0.85, metrics
    assert metrics["memup/uncertain_accuracy"] >= 0.95, metrics
    assert metrics["memup/memory_gain_nll"] > 0.25, metrics
    assert "memup/junction_accuracy" not in metrics
    from memup_module import load_codec

    assert load_codec(tmp_path / "memory.pt")["kind"] == "exact"
