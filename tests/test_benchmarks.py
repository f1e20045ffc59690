"""The benchmark runner works and reports what the issue asks of each row. It measures nothing
here: one step of the smallest configuration, only to check the report's shape."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def run_bench(*args: str, tmp_path) -> list[dict]:
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", *args, "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())["results"]


@pytest.mark.slow
def test_train_rows_name_configuration_options_versions_and_memory_of_both_modes(tmp_path):
    rows = run_bench("--suite", "train", "--config", "cgan-32", "--steps", "1", "--warmup", "0",
                     tmp_path=tmp_path)
    eager, fast = rows
    assert (eager["mode"], fast["mode"]) == ("eager", "fast")
    for row in rows:
        assert row["config"] == "cgan-32" and row["suite"] == "train" and row["batch_size"] == 64
        assert row["device"] == "cpu" and row["torch"] and row["threads"] >= 1
        assert row["images_per_s"] > 0 and row["peak_memory_bytes"] > 0
        low, high = row["spread_s"]
        assert low <= row["median_s"] <= high
    # The reference step is plain fp32; the fast path is ganzoo's defaults on this machine.
    assert eager["options"] == {"amp": "none", "channels_last": False, "fused_adam": False,
                                "frozen_d": False, "release_grads": False}
    assert fast["options"]["fused_adam"] and fast["options"]["frozen_d"]
    assert fast["speedup_vs_eager"] == pytest.approx(eager["median_s"] / fast["median_s"])


def test_load_suite_times_the_data_loader_alone(tmp_path):
    rows = run_bench("--suite", "load", "--steps", "1", tmp_path=tmp_path)
    assert {(r["config"], r["workers"]) for r in rows} >= {("digits-32", 0), ("digits-32", 2)}
    assert all(r["suite"] == "load" and r["images_per_s"] > 0 for r in rows)


def test_inference_rows_record_plan_capability_threads_and_difference_from_eager(tmp_path):
    out = tmp_path / "inference.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.inference", "--config", "dcgan-64",
                           "--modes", "eager,fast,fast-flip", "--steps", "1", "--warmup", "0",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    eager, fast, flip = json.loads(out.read_text())["results"]
    assert [r["mode"] for r in (eager, fast, flip)] == ["eager", "fast", "fast-flip"]
    for row in (eager, fast, flip):
        assert row["config"] == "dcgan-64" and row["verb"] == "generate"
        assert row["batch_size"] == 64 and row["images_per_s"] > 0 and row["threads"] >= 1
        assert row["cpu_capability"] and row["torch"] and row["date"]
    assert eager["plan"] == "fp32 (cpu)" and eager["max_abs_diff_vs_eager"] == 0
    assert ("channels_last" in fast["plan"]) != ("channels_last" in flip["plan"])
    assert fast["max_abs_diff_vs_eager"] <= 1e-2
    bad = subprocess.run([sys.executable, "-m", "benchmarks.inference", "--modes", "eager,fp64"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--modes: unknown fp64" in bad.stderr


def test_the_variants_script_times_a_switch_on_and_off(capsys):
    import json

    from benchmarks.variants import main

    main(["--config", "dcgan-digits", "--switch", "channels_last", "--steps", "1"])
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert result["channels_last"] == {"off": False, "on": True}
    assert result["speedup"] > 0 and set(result["median_cpu_s"]) == {"off", "on"}


def test_edge_ratio_is_high_where_the_image_steps_at_the_edges_and_one_for_noise():
    import torch

    from benchmarks.pix2pix_edges import edge_ratio

    sources = torch.ones(2, 1, 16, 16)
    sources[:, :, :, 8] = -1  # one vertical edge (edges are -1, as in the embedded data)
    step = -torch.ones(2, 3, 16, 16)
    step[..., 8:] = 1  # the image changes exactly there
    assert edge_ratio(step, sources) > 10
    noise = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert 0.7 < edge_ratio(noise, sources) < 1.3
    with pytest.raises(ValueError, match="both edge and edge-free"):
        edge_ratio(step, -torch.ones(2, 1, 16, 16))
