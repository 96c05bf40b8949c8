"""Progress bars: tqdm in the driver, Ray's tqdm_ray inside actors (no empty log lines)."""

from __future__ import annotations

import ray

from learner.progress import progress_bar


@ray.remote
class Looper:
    def run(self) -> tuple[str, int]:
        with progress_bar(total=5, desc="memup", unit="upd", initial=2) as bar:
            for _ in range(3):
                bar.update(1)
            bar.set_postfix(loss="0.1")
            return type(bar).__name__, bar._bar.n


def test_an_actor_reports_through_tqdm_ray_and_the_driver_through_tqdm(ray_local) -> None:
    kind, done = ray.get(Looper.remote().run.remote())
    assert (kind, done) == ("_RayBar", 5)
    with progress_bar(total=3, desc="collect", unit="ep") as bar:
        assert type(bar).__module__.startswith("tqdm")
    assert progress_bar(total=3, desc="x", unit="y", enabled=False).disable
