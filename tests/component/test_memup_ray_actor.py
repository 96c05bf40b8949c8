"""The MemUPLearner Ray actor: train, checkpoint, restore, resume, export, metrics."""

import functools

import pytest
import ray
import torch

from envs import tmaze_spec
from learner.memup import MemUPConfig
from learner.memup.learner import learner_actor_options, start_memup_learner
from learner.memup.inputs.episodes import generated_source
from learner.metrics import read_metrics
from memup_module import MemoryConfig, load_memory

TMAZE = tmaze_spec(8, length_jitter=2)
CONFIG = MemUPConfig(batch_slots=8, eval_episodes=16, checkpoint_every=4, prefetch_episodes=16,
                     detector_warmup_updates=5, memory=MemoryConfig(hidden_size=16))
SOURCE = functools.partial(generated_source, TMAZE, 40, 0)


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def test_actor_options_use_the_cpu_without_a_gpu(ray_cluster):
    options = learner_actor_options()
    assert options["num_gpus"] == (1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0)
    assert options["name"] == "memup-learner"


def test_learner_actor_trains_saves_restores_and_exports(ray_cluster, tmp_path):
    learner = start_memup_learner(CONFIG, TMAZE, SOURCE, tmp_path, progress=False,
                                  name="memup-learner-test")
    metrics = ray.get(learner.train.remote(6))
    assert metrics["memup/step"] == 6 and metrics["memup/slot_steps_per_s"] > 0
    assert (tmp_path / "memup" / "checkpoints" / "ckpt-000000004.pt").is_file()
    saved = ray.get(learner.save.remote())
    ray.get(learner.train.remote(3))
    ray.get(learner.restore.remote(saved))
    assert ray.get(learner.step.remote()) == 6
    evaluation = ray.get(learner.evaluate.remote())
    assert 0.0 <= evaluation["memup/junction_accuracy"] <= 1.0
    assert evaluation["memup/step"] == 6

    trace = ray.get(learner.detector_trace.remote())
    assert trace["junction"] == len(trace["scores"]) - 1
    exported = ray.get(learner.export_memory.remote())
    assert exported == str(tmp_path / "memup" / "memory.pt")
    memory = load_memory(exported)
    m, state = memory(torch.zeros(2, 5, 6))
    assert m.shape == (2, 5, 16) and not memory.training

    ray.get(learner.train.remote(4))  # steps 7..10: a checkpoint at 10 (4 after the save)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert {"memup/loss", "memup/junction_accuracy"} <= set().union(*records)
    ray.kill(learner)

    # A new actor on the same run dir resumes from the newest checkpoint.
    resumed = start_memup_learner(CONFIG, TMAZE, SOURCE, tmp_path, progress=False,
                                  name="memup-learner-resumed")
    assert ray.get(resumed.step.remote()) == 10
    assert ray.get(resumed.train.remote(1))["memup/step"] == 11
    ray.kill(resumed)
