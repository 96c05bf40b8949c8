"""`make cluster-up` survives a runs/latest left pointing at a deleted run dir: Ray's `ray up`
hashes every file under the file mounts (rsync_exclude does not stop it), and
`app.submit --prepare-mounts` removes such links before it runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import hash_runtime_conf

from app import submit

ROOT = Path(__file__).resolve().parents[2]


def project_with_dangling_latest(tmp_path: Path) -> tuple[Path, Path]:
    """A project folder whose runs/latest points at a deleted run, and its cluster yaml."""
    project = tmp_path / "project"
    (project / "runs" / "kept").mkdir(parents=True)
    (project / "app.py").write_text("code\n")
    (project / "runs" / "latest").symlink_to("deleted-run")  # the run dir was rm -rf'd
    (project / "runs" / "kept" / "result.txt").write_text("1\n")
    (project / "runs" / "kept-link").symlink_to("kept")  # a working link stays
    cluster = tmp_path / "cluster.yaml"
    config = yaml.safe_load((ROOT / "cluster-local.yaml").read_text())
    config["file_mounts"] = {"~/memup-rl": str(project), "~/token": str(project / "app.py")}
    cluster.write_text(yaml.safe_dump(config))
    return project, cluster


def ray_hash(project: Path) -> None:
    """What `ray up` does with the mounts before anything else (ray's commands.py)."""
    hash_runtime_conf({"~/memup-rl": str(project)}, None, {"case": str(project)},
                      generate_file_mounts_contents_hash=True)


def test_ray_up_trips_on_a_dangling_latest_and_prepare_mounts_removes_it(tmp_path, capsys):
    project, cluster = project_with_dangling_latest(tmp_path)
    with pytest.raises(FileNotFoundError):
        ray_hash(project)  # the defect, as `ray up` met it
    assert submit.main(["--prepare-mounts", str(cluster)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (project / "runs" / "latest").is_symlink()
    assert (project / "runs" / "kept-link").is_symlink()  # only broken links go
    ray_hash(project)  # and now `ray up` gets past it
    assert submit.prepare_mounts(str(cluster)) == []  # nothing left to do


def test_another_broken_link_is_named_not_removed(tmp_path, capsys):
    project, cluster = project_with_dangling_latest(tmp_path)
    (project / "configs").mkdir()
    (project / "configs" / "mine.yaml").symlink_to("/nowhere/mine.yaml")
    assert submit.main(["--prepare-mounts", str(cluster)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "mine.yaml is a broken symlink" in error
    assert (project / "configs" / "mine.yaml").is_symlink()


def test_a_missing_cluster_yaml_is_one_line(tmp_path, capsys):
    assert submit.main(["--prepare-mounts", str(tmp_path / "none.yaml")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "CLUSTER=" in error


def test_make_cluster_up_prepares_the_mounts_before_ray_up():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^cluster-up:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    lines = [line.strip().lstrip("@") for line in recipe.splitlines()]
    prepare = next(i for i, line in enumerate(lines) if "app.submit --prepare-mounts" in line)
    ray_up = next(i for i, line in enumerate(lines) if "ray up" in line)
    assert prepare < ray_up and "$(CLUSTER)" in lines[prepare]
    for name in ("cluster.yaml", "cluster-local.yaml"):  # what the yamls mount is prepared
        mounts = yaml.safe_load((ROOT / name).read_text())["file_mounts"]
        assert mounts["~/memup-rl"] == "."
