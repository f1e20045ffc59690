"""Nothing lost: random SIGKILLs, concurrent runs, failed writes. (Issue: reliability.)"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import TINY_DIGITS, write_recipe

import ganzoo
from ganzoo import Recipe, RunDirError
from ganzoo.hub.bundle import state_tensors
from ganzoo.training.checkpoint import CHECKPOINT_NAME, checkpoint_step
from ganzoo.training.loop import resume, train

SLOW_STEPS = """
import os, sys, time
import ganzoo_dcgan.train as t
from ganzoo.apps.cli import main
original = t.train_step
def step(batch, model, opt, ctx):
    time.sleep(float(os.environ["STEP_SLEEP"]))
    return original(batch, model, opt, ctx)
t.train_step = step
main(sys.argv[1:])
"""


def start(args, sleep=0.03):
    env = {**os.environ, "STEP_SLEEP": str(sleep)}
    return subprocess.Popen([sys.executable, "-c", SLOW_STEPS, *map(str, args), "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_second_process_cannot_train_into_a_running_run(tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    proc = start(["run", tiny_recipe, "--out", run_dir, "--set", "train.steps=1000"], sleep=0.05)
    try:
        wait_for(run_dir / CHECKPOINT_NAME)
        with pytest.raises(RunDirError, match=f"another ganzoo process is training here "
                                              f"\\(pid {proc.pid}\\)"):
            resume(run_dir, progress=False)
        with pytest.raises(RunDirError, match="another ganzoo process is training here"):
            train(Recipe.from_toml(tiny_recipe), run_dir, progress=False)
    finally:
        proc.kill()
        proc.wait()
    # A killed holder leaves no stale lock behind.
    assert resume(run_dir, overrides=("train.steps=6",), progress=False).status == "finished"


@pytest.mark.slow
def test_kill_soak_random_sigkills_lose_nothing(tmp_path):
    data = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 150, "checkpoint_every": 1,
                                     "log_every": 5, "sample_every": 1000, "ema": 0.9}}
    recipe = write_recipe(tmp_path / "soak.toml", data)
    straight = train(Recipe.from_toml(recipe), tmp_path / "straight", progress=False).run_dir
    run_dir = tmp_path / "soak"
    rng = random.Random(1234)
    kills, seen_steps = 0, []
    while kills < 10:
        started = run_dir.exists() and (run_dir / CHECKPOINT_NAME).exists()
        args = ["run", "--resume", run_dir] if started else ["run", recipe, "--out", run_dir]
        if not started and run_dir.exists():  # killed before its first checkpoint: start over
            import shutil

            shutil.rmtree(run_dir)
        proc = start(args)
        # Kill at a random moment once this process has taken the run (start-up takes 1-2 s
        # on an idle machine, much longer on a busy one); steps take ~30 ms each.
        owned_since = None
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if (run_dir / "run.pid").read_text() == str(proc.pid):
                    owned_since = time.monotonic()
                    break
            except OSError:
                pass
            time.sleep(0.01)
        assert owned_since is not None or proc.poll() is not None, "the run never started"
        time.sleep(rng.uniform(0.05, 0.6))  # about 2 to 15 steps into this life
        if proc.poll() is not None:
            break  # it finished before this kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        if (run_dir / CHECKPOINT_NAME).exists():
            seen_steps.append(checkpoint_step(run_dir))  # every checkpoint must load
    assert kills >= 10, "the run finished too early for ten kills; make it longer"
    assert seen_steps == sorted(seen_steps) and seen_steps[-1] > 0
    result = resume(run_dir, progress=False)
    assert (result.status, result.step) == ("finished", 150)
    expected = state_tensors(ganzoo.load(str(straight), components="all"))
    got = state_tensors(ganzoo.load(str(run_dir), components="all"))
    for key, value in expected.items():
        assert torch.equal(value, got[key]), key
    # No litter: the temporary files of writes the kills cut short were cleaned on resume.
    assert not [p for p in run_dir.rglob("*.tmp")], sorted(run_dir.rglob("*.tmp"))


def folder_recipe(tmp_path, root, **data):
    return write_recipe(tmp_path / "folder.toml", {
        **TINY_DIGITS,
        "data": {"dataset": "image-folder", "root": str(root), "resolution": 16, "channels": 1,
                 **data},
        "train": {**TINY_DIGITS["train"], "batch_size": 2, "steps": 4, "num_workers": 1}})


def test_a_damaged_image_read_in_a_worker_is_one_line_naming_it(tmp_path, cli):
    import data_fixtures

    root = data_fixtures.make_image_folder(tmp_path / "images", n=6, size=(24, 24))
    jpeg = sorted(root.rglob("*.JPG"))[0]
    data_fixtures.truncate(jpeg)  # passes the header check; fails when decoded in the worker
    result = cli("run", folder_recipe(tmp_path, root), "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert result.output.startswith("ganzoo: ") and str(jpeg) in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_skip_leaves_damaged_images_out_with_a_warning(tmp_path):
    import data_fixtures

    root = data_fixtures.make_image_folder(tmp_path / "images", n=6, size=(24, 24))
    jpeg = sorted(root.rglob("*.JPG"))[0]
    data_fixtures.truncate(jpeg)
    recipe = Recipe.from_toml(folder_recipe(tmp_path, root, on_bad_image="skip"))
    with pytest.warns(UserWarning, match=f"skipping unreadable image {jpeg}"):
        result = train(recipe, tmp_path / "run", progress=False)
    assert result.status == "finished"


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EACCES", "EROFS"])
def test_failed_weight_and_sample_writes_keep_old_files(tmp_path, monkeypatch, errno_name):
    import errno

    from ganzoo import WriteError
    from ganzoo.base.io import atomic_write_text

    target = tmp_path / "file.txt"
    atomic_write_text(target, "old")

    def failing_replace(src, dst):
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match=f"{target}: write failed .*; the previous file is "
                                         "intact"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]  # no temp file left behind


def test_checkpoints_cut_at_many_offsets_are_refused_cleanly(tiny_recipe, tmp_path, cli):
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, ["train.steps=2"]), run_dir, progress=False)
    path = run_dir / CHECKPOINT_NAME
    data = path.read_bytes()
    header = int.from_bytes(data[:8], "little")
    for cut in sorted({0, 1, 7, 8, 9, 8 + header // 2, 8 + header, 8 + header + 1,
                       len(data) // 2, len(data) - 1}):
        path.write_bytes(data[:cut])
        result = cli("run", "--resume", run_dir)
        assert result.exit_code == 1, cut
        assert result.output.startswith(f"ganzoo: {path}"), (cut, result.output)
        assert "Traceback" not in result.output
    garbled = bytearray(data)
    garbled[10:40] = b"\xff" * 30  # inside the JSON header
    path.write_bytes(bytes(garbled))
    assert cli("run", "--resume", run_dir).output.startswith(f"ganzoo: {path}")


def test_a_run_directory_removed_while_training_is_one_line(tiny_recipe, tmp_path, cli,
                                                            monkeypatch):
    import shutil

    import ganzoo_dcgan.train as dcgan_train

    run_dir = tmp_path / "run"
    original = dcgan_train.train_step

    def step(batch, model, opt, ctx):
        if ctx.step == 3:
            shutil.rmtree(run_dir)
        return original(batch, model, opt, ctx)

    monkeypatch.setattr(dcgan_train, "train_step", step)
    result = cli("run", tiny_recipe, "--out", run_dir, "-q")
    assert result.exit_code == 1, result.output
    assert "cannot append to the run's log" in result.output
    assert "moved or removed while it trained?" in result.output
    assert "Traceback" not in result.output
