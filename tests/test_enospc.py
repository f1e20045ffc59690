"""A full disk at every write site (issue #22): one line, and the previous file intact.

The failure is injected as the real libraries raise it: ``OSError(ENOSPC)`` from file writes
and ``fsync``, and safetensors' own ``SafetensorError`` (not an ``OSError``) from ``save_file``.
"""

from __future__ import annotations

import errno
import os
import shutil

import pytest
from click.testing import CliRunner
from conftest import TINY_DIGITS

from ganzoo.apps.cli import cli

FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _safetensors_full():
    from safetensors import SafetensorError

    return SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                           'message: "No space left on device" })')


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from ganzoo import Recipe
    from ganzoo.training.loop import train

    run = tmp_path_factory.mktemp("full") / "run"
    train(Recipe.from_dict({**TINY_DIGITS, "name": "tiny", "train": {
        **TINY_DIGITS["train"], "steps": 2, "checkpoint_every": 2, "sample_every": 2,
        "log_every": 1}}), run, progress=False)
    return run


def _save_file_failing_for(part: str):
    """``safetensors.torch.save_file`` that fails like a full disk for paths containing part."""
    from safetensors.torch import save_file

    def fake(tensors, filename, metadata=None):
        if part in str(filename) or part in str(getattr(fake, "target", "")):
            raise _safetensors_full()
        return save_file(tensors, filename, metadata=metadata)

    return fake


def _resume_more(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy, ["run", "--resume", str(copy), "--set", "train.steps=4", "-q"]


def _one_line(args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("ganzoo: "), result.output
    assert "No space left on device" in lines[0] or "StorageFull" in lines[0], lines[0]
    return lines[0]


def test_checkpoint_write_on_a_full_disk(finished_run, tmp_path, monkeypatch):
    import ganzoo.training.checkpoint as checkpoint

    run, args = _resume_more(finished_run, tmp_path)
    before = (run / "checkpoint.safetensors").read_bytes()
    monkeypatch.setattr(checkpoint, "save_file", _save_file_failing_for("checkpoint"))
    line = _one_line(args)
    assert str(run / "checkpoint.safetensors") in line and "previous file is intact" in line
    assert (run / "checkpoint.safetensors").read_bytes() == before
    assert not list(run.glob(".*.tmp"))


def test_weights_write_on_a_full_disk(finished_run, tmp_path, monkeypatch):
    import safetensors.torch

    run, args = _resume_more(finished_run, tmp_path)
    weights = run / "weights" / "gen" / "model.safetensors"
    before = weights.read_bytes()
    monkeypatch.setattr(safetensors.torch, "save_file", _save_file_failing_for("weights"))
    line = _one_line(args)
    assert str(weights) in line
    assert weights.read_bytes() == before


def test_sample_write_on_a_full_disk(finished_run, tmp_path, monkeypatch):
    from PIL import Image

    run, args = _resume_more(finished_run, tmp_path)
    final = run / "samples" / "final.png"
    before = final.read_bytes()

    def full(self, fp, *a, **k):
        raise FULL

    monkeypatch.setattr(Image.Image, "save", full)
    line = _one_line(args)
    assert str(run / "samples") in line
    assert final.read_bytes() == before


def test_metrics_append_on_a_full_disk(finished_run, tmp_path, monkeypatch):
    import ganzoo.training.rundir as rundir

    run, args = _resume_more(finished_run, tmp_path)
    before = (run / "metrics.jsonl").read_bytes()
    real_open = open

    def full_open(path, mode="r", *a, **k):
        if "a" in mode and str(path).endswith("metrics.jsonl"):
            raise FULL
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(rundir, "open", full_open, raising=False)
    line = _one_line(args)
    assert str(run / "metrics.jsonl") in line
    assert (run / "metrics.jsonl").read_bytes() == before


@pytest.mark.parametrize("site", ["report", "axes", "bundle"])
def test_fsync_failing_on_a_full_disk_keeps_the_previous_file(finished_run, tmp_path, site,
                                                              monkeypatch):
    """Delayed allocation: the data is accepted and the full disk shows at fsync."""
    from ganzoo.base.errors import WriteError

    if site == "report":
        from ganzoo.apps.report import write_report

        target = tmp_path / "report.html"
        write_report(finished_run, target)
        action = lambda: write_report(finished_run, target)  # noqa: E731
    elif site == "axes":
        import torch
        from ganzoo_tlgan.axes import Axes

        axes = Axes(names=("a",), vectors=torch.eye(1, 8), weights=torch.ones(1, 8),
                    bias=torch.zeros(1), features=({"name": "a"},), generator={})
        folder = axes.save(tmp_path / "axes")
        target = folder / "axes.safetensors"
        action = lambda: axes.save(folder)  # noqa: E731
    else:  # what `ganzoo convert` and `ganzoo export`'s bundle side write
        import ganzoo
        from ganzoo.hub.bundle import write_bundle

        model = ganzoo.load(finished_run)
        folder = write_bundle(model, tmp_path / "bundle", components="inference")
        target = folder / "gen" / "model.safetensors"
        action = lambda: write_bundle(model, folder, components="inference")  # noqa: E731
    before = target.read_bytes()

    def full(fd):
        raise FULL

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError) as info:
        action()
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)
    assert "previous file is intact" in str(info.value)
    assert target.read_bytes() == before
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_axes_tensors_write_on_a_full_disk(tmp_path, monkeypatch):
    """safetensors' own error (not an OSError) from the axes' tensor file: one line, kept."""
    import safetensors.torch
    import torch
    from ganzoo_tlgan.axes import Axes

    from ganzoo.base.errors import WriteError

    axes = Axes(names=("a",), vectors=torch.eye(1, 8), weights=torch.ones(1, 8),
                bias=torch.zeros(1), features=({"name": "a"},), generator={})
    folder = axes.save(tmp_path / "axes")
    before = (folder / "axes.safetensors").read_bytes()
    monkeypatch.setattr(safetensors.torch, "save_file", _save_file_failing_for("axes"))
    with pytest.raises(WriteError) as info:
        axes.save(folder)
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)
    assert "previous file is intact" in str(info.value)
    assert (folder / "axes.safetensors").read_bytes() == before
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_onnx_export_on_a_full_disk(finished_run, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    target = tmp_path / "gen.onnx"
    CliRunner().invoke(cli, ["export", str(finished_run), "--onnx", str(target)],
                       catch_exceptions=False)
    before = target.read_bytes()

    def full(fd):
        raise FULL

    monkeypatch.setattr(os, "fsync", full)
    line = _one_line(["export", finished_run, "--onnx", target])
    assert str(target) in line
    assert target.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
