"""A really full disk and a really read-only directory (issue #22), on a small tmpfs mounted for
the test: what test_enospc.py injects, here from the kernel. Skips where mounting is not allowed
(not root, or a container without the capability)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import TINY_DIGITS, write_recipe

from ganzoo import Recipe


def _mount(target: Path, size: str) -> None:
    target.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")


@pytest.fixture
def small_disk(tmp_path):
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    target = Path("/tmp") / f"ganzoo-disk-{uuid.uuid4().hex[:8]}"
    _mount(target, "96k")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)
    target.rmdir()


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("ganzoo: "), result.output
    return lines[0]


def test_a_run_on_a_disk_that_fills_up_ends_in_one_line(cli, small_disk, tmp_path):
    recipe = write_recipe(tmp_path / "tiny.toml", {**TINY_DIGITS, "train": {
        **TINY_DIGITS["train"], "steps": 4, "checkpoint_every": 2, "sample_every": 2}})
    line = _one_line(cli("run", str(recipe), "--out", str(small_disk / "run"), "-q"))
    assert "No space left on device" in line and str(small_disk / "run") in line
    assert not list((small_disk / "run").glob(".*.tmp")), "a failed write left its temp file"


def test_resume_into_a_read_only_directory_ends_in_one_line(cli, small_disk, tmp_path):
    from ganzoo.training.loop import train

    run = tmp_path / "run"
    train(Recipe.from_dict({**TINY_DIGITS, "name": "tiny", "train": {
        **TINY_DIGITS["train"], "steps": 2, "checkpoint_every": 2, "sample_every": 2}}), run,
        progress=False)
    subprocess.run(["umount", "-l", str(small_disk)], check=True)
    _mount_ro = small_disk  # the same mount point: a larger tmpfs holding the run, then read-only
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(_mount_ro)], check=True)
    shutil.copytree(run, _mount_ro / "run")
    subprocess.run(["mount", "-o", "remount,ro", str(_mount_ro)], check=True)
    before = (_mount_ro / "run" / "checkpoint.safetensors").read_bytes()
    line = _one_line(cli("run", "--resume", str(_mount_ro / "run"), "--set", "train.steps=4",
                         "-q"))
    assert "Read-only file system" in line and str(_mount_ro / "run") in line
    assert (_mount_ro / "run" / "checkpoint.safetensors").read_bytes() == before
