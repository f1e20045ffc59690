"""The generic training loop: outputs, exact resume after a kill or Ctrl-C, NaN, bad run dirs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import TINY_DIGITS, load_toml, write_recipe
from PIL import Image

import ganzoo
from ganzoo import CheckpointError, Recipe, RunDirError, TrainingDiverged
from ganzoo.training.checkpoint import CHECKPOINT_NAME, checkpoint_step
from ganzoo.training.context import native_amp
from ganzoo.training.loop import resume, train
from ganzoo.hub.bundle import state_tensors


def final_tensors(run_dir):
    """Every tensor of the run's final bundle, training part included."""
    return state_tensors(ganzoo.load(str(run_dir), components="all"))


def assert_same_tensors(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_run_writes_weights_samples_metrics_and_the_resolved_recipe(tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    result = ganzoo.train(str(tiny_recipe), str(run_dir), progress=False)
    assert (result.status, result.step) == ("finished", 12)
    config = json.loads((run_dir / "weights" / "config.json").read_text())
    assert config["architecture"] == "dcgan" and config["config"]["z_dim"] == 8
    assert set(final_tensors(run_dir)) >= {"gen.0.weight", "disc.0.weight"}
    for name in ("step-000006", "step-000012", "final"):
        assert Image.open(run_dir / "samples" / f"{name}.png").size == (38, 38)  # 2x2 of 16px
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4, 6, 8, 10, 12]
    assert all({"loss_d", "loss_g", "images_per_s"} <= set(x) for x in lines)
    resolved = load_toml(run_dir / "recipe.toml")
    assert resolved["train"]["steps"] == 12 and resolved["trainer"] == "gan"
    assert Recipe.from_toml(run_dir / "recipe.toml").model == Recipe.from_toml(tiny_recipe).model
    info = json.loads((run_dir / "run.json").read_text())
    assert info["plugins"]["dcgan"]["version"] == ganzoo.__version__ and info["torch"]
    # amp = "auto" (the default) is recorded as the precision it resolved to on this machine.
    assert info["device"] == "cpu" and info["processes"] == 1
    assert info["precision"] == native_amp(torch.device("cpu"))
    # The run directory is loadable, and its samples reproducible for a seed.
    model = ganzoo.load(str(run_dir))
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model.generate(3, seed=5), model.generate(3, seed=5))


def test_same_seed_same_weights(tiny_recipe, tmp_path):
    recipe = Recipe.from_toml(tiny_recipe, ["train.steps=4"])
    train(recipe, tmp_path / "a", progress=False)
    train(recipe, tmp_path / "b", progress=False)
    assert_same_tensors(final_tensors(tmp_path / "a"), final_tensors(tmp_path / "b"))


STOP_AT_STEP = """
import os, signal, sys
import ganzoo_dcgan.train as t
from ganzoo.apps.cli import main
original = t.train_step
def step(batch, model, opt, ctx):
    if ctx.step == {step}:
        os.kill(os.getpid(), signal.{signal})
    return original(batch, model, opt, ctx)
t.train_step = step
main(sys.argv[1:])
"""


@pytest.mark.parametrize("sig,code", [("SIGKILL", -signal.SIGKILL), ("SIGINT", 130)])
def test_resume_after_kill_or_ctrl_c_equals_an_uninterrupted_run(tiny_recipe, tmp_path, sig, code):
    overrides = ["--set", "train.ema=0.9", "--set", "train.num_workers=1"]
    train(Recipe.from_toml(tiny_recipe, [o for o in overrides if o != "--set"]),
          tmp_path / "straight", progress=False)
    script = STOP_AT_STEP.format(step=6, signal=sig)
    broken = tmp_path / "broken"
    proc = subprocess.run([sys.executable, "-c", script, "run", str(tiny_recipe), "--out",
                           str(broken), "-q", *overrides], capture_output=True, text=True)
    assert proc.returncode == code, proc.stderr
    assert not (broken / "weights").exists()
    if sig == "SIGINT":  # graceful: the step in flight finishes and is checkpointed
        assert checkpoint_step(broken) == 7
        assert f"ganzoo run --resume {broken}" in proc.stderr
    else:  # killed: the last periodic checkpoint survives
        assert checkpoint_step(broken) == 4
    result = resume(broken, progress=False)
    assert (result.status, result.step) == ("finished", 12)
    assert_same_tensors(final_tensors(tmp_path / "straight"), final_tensors(broken))
    steps = [json.loads(x)["step"] for x in (broken / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)), "metrics were logged twice for some steps"


def test_amp_and_channels_last_paths_train_on_cpu(tiny_recipe, tmp_path):
    for i, amp in enumerate(["bf16", "fp16"]):
        recipe = Recipe.from_toml(tiny_recipe, [f"train.amp={amp}", "train.channels_last=true",
                                                "train.steps=4"])
        result = train(recipe, tmp_path / f"run{i}", progress=False)
        assert result.status == "finished"
        assert all(torch.isfinite(torch.tensor(v)) for v in result.losses.values())


NAN_PLUGIN = textwrap.dedent("""
    import ganzoo, torch
    import ganzoo_dcgan.train as t

    def step(batch, model, opt, ctx):
        losses = t.train_step(batch, model, opt, ctx)
        if ctx.step >= 5:
            losses["loss_g"] = losses["loss_g"] * float("nan")
        return losses

    @ganzoo.hookimpl
    def register_trainers(registry):
        registry.add(name="nan-gan", step="nan_plugin:step",
                     config_cls=ganzoo.AdversarialTrainConfig)
""")


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_recipe, tmp_path, monkeypatch,
                                                              ganzoo_plugins):
    (tmp_path / "nan_plugin.py").write_text(NAN_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import nan_plugin

    ganzoo_plugins.register_plugin(nan_plugin, "nan_plugin")
    recipe = Recipe.from_toml(tiny_recipe, ["trainer=nan-gan"])
    with pytest.raises(TrainingDiverged) as info:
        train(recipe, tmp_path / "run", progress=False)
    assert "loss_g became nan by step 6" in str(info.value)
    assert "last good checkpoint (step 4)" in str(info.value)
    assert checkpoint_step(tmp_path / "run") == 4


def test_refuses_an_output_folder_holding_a_run(tiny_recipe, tmp_path, cli):
    recipe = Recipe.from_toml(tiny_recipe, ["train.steps=2"])
    train(recipe, tmp_path / "run", progress=False)
    with pytest.raises(RunDirError, match="not empty; continue it with `ganzoo run --resume"):
        train(recipe, tmp_path / "run", progress=False)
    result = cli("run", tiny_recipe, "--out", tmp_path / "run")
    assert result.exit_code == 1 and result.output.startswith("ganzoo: ")


def test_corrupt_or_missing_checkpoint_is_a_one_line_error(tiny_recipe, tmp_path, cli):
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, ["train.steps=2"]), run_dir, progress=False)
    path = run_dir / CHECKPOINT_NAME
    path.write_bytes(path.read_bytes()[:200])
    result = cli("run", "--resume", run_dir)
    assert result.exit_code == 1
    assert f"ganzoo: {path}: corrupt checkpoint" in result.output
    assert len(result.output.strip().splitlines()) == 1
    path.unlink()
    with pytest.raises(CheckpointError, match="no checkpoint in this run directory"):
        resume(run_dir, progress=False)


def test_model_and_data_disagreeing_fails_before_training(tiny_recipe, tmp_path):
    recipe = Recipe.from_toml(tiny_recipe, ["model.channels=3"])
    with pytest.raises(ganzoo.RecipeError, match=r"\[model\] channels = 3 but dataset 'digits' "
                                                 r"gives channels 1"):
        train(recipe, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_missing_data_folder_names_the_path(tmp_path, cli):
    data = {**TINY_DIGITS, "data": {"dataset": "image-folder", "root": str(tmp_path / "nope"),
                                    "resolution": 16, "channels": 1}}
    recipe = write_recipe(tmp_path / "r.toml", data)
    result = cli("run", recipe, "--out", tmp_path / "run")
    assert result.exit_code == 1
    assert str(tmp_path / "nope") in result.output and result.output.startswith("ganzoo: ")
    assert not (tmp_path / "run").exists()


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tiny_recipe, tmp_path,
                                                                 monkeypatch):
    import errno

    import ganzoo.training.checkpoint as checkpoint_module

    real_save, calls = checkpoint_module.save_file, []

    def disk_full_on_second_write(tensors, path, metadata=None):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as fh:  # half a file, then the disk is full
                fh.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(tensors, path, metadata=metadata)

    monkeypatch.setattr(checkpoint_module, "save_file", disk_full_on_second_write)
    run_dir = tmp_path / "run"
    with pytest.raises(ganzoo.WriteError) as info:
        train(Recipe.from_toml(tiny_recipe), run_dir, progress=False)
    path = run_dir / CHECKPOINT_NAME
    assert str(info.value) == (f"{path}: write failed (No space left on device); "
                               "the previous file is intact")
    assert checkpoint_step(run_dir) == 4
    assert [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.setattr(checkpoint_module, "save_file", real_save)
    assert resume(run_dir, progress=False).status == "finished"


def test_metrics_during_training_are_reproduced_by_ganzoo_eval(tiny_recipe, tmp_path, cli):
    recipe = Recipe.from_toml(tiny_recipe, ["train.eval_every=6", "train.eval_samples=50",
                                            "train.ema=0.9",
                                            "train.eval_metrics=['fd-digits', 'kid-digits']"])
    run_dir = train(recipe, tmp_path / "run", progress=False).run_dir
    evals = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
             if "eval" in x]
    assert [e["step"] for e in evals] == [6, 12]
    final = evals[-1]
    assert set(final["eval"]) == {"fd-digits", "kid-digits"}
    assert final["protocol"]["fd-digits"]["n_fake"] == 50
    assert final["protocol"]["fd-digits"]["seed"] == recipe.seed
    result = cli("eval", run_dir, "--metrics", "fd-digits", "-n", "50", "--seed",
                 str(recipe.seed), "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)["scores"]["fd-digits"]["value"]
    assert again == pytest.approx(final["eval"]["fd-digits"], rel=1e-5)
    assert "| fd-digits |" in (run_dir / "weights" / "README.md").read_text()


def test_unknown_metric_names_fail_with_the_recipe(tiny_recipe):
    with pytest.raises(ganzoo.RecipeError, match=r"\[train\] eval_metrics: 'fd-digit': no metric "
                                                 r"named 'fd-digit'. Did you mean 'fd-digits'"):
        Recipe.from_toml(tiny_recipe, ["train.eval_metrics=['fd-digit']"])


STATE_PLUGIN = textwrap.dedent("""
    import torch
    import ganzoo
    from ganzoo_dcgan.train import train_step

    def step(batch, model, opt, ctx):
        # A trainer's own state between steps (like CycleGAN's image pool): a running count
        # and the sum of a random draw, so a lost or replayed state would show.
        state = ctx.state.setdefault("seen", torch.zeros(2))
        state += torch.tensor([1.0, torch.rand(()).item()])
        return train_step(batch, model, opt, ctx)

    @ganzoo.hookimpl
    def register_trainers(registry):
        registry.add(name="stateful-gan", step="state_plugin:step",
                     config_cls=ganzoo.AdversarialTrainConfig)
""")


def test_trainer_state_is_checkpointed_and_restored_on_resume(tiny_recipe, tmp_path, monkeypatch,
                                                               ganzoo_plugins):
    from safetensors.torch import load_file

    from ganzoo.training.loop import _Session

    (tmp_path / "state_plugin.py").write_text(STATE_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import state_plugin

    ganzoo_plugins.register_plugin(state_plugin, "state_plugin")
    recipe = Recipe.from_toml(tiny_recipe, ["trainer=stateful-gan", "train.steps=8",
                                            "train.checkpoint_every=4"])
    train(recipe, tmp_path / "full", progress=False)
    full = load_file(tmp_path / "full" / CHECKPOINT_NAME)["state.seen"]
    assert full[0] == 8

    # Stop at step 4 (the checkpoint), then resume in a fresh session: the state continues.
    half = Recipe.from_toml(tiny_recipe, ["trainer=stateful-gan", "train.steps=4"])
    train(half, tmp_path / "half", progress=False)
    assert load_file(tmp_path / "half" / CHECKPOINT_NAME)["state.seen"][0] == 4
    session = _Session(recipe, tmp_path / "half")
    session.resume()
    assert session.ctx.state["seen"][0] == 4
    session.run(progress=False)
    assert torch.equal(load_file(tmp_path / "half" / CHECKPOINT_NAME)["state.seen"], full)
    # The state is training-only: the published weights do not carry it.
    assert not any(k.startswith("state") for k in final_tensors(tmp_path / "half"))


def test_tensorboard_logs_losses_scores_and_samples_without_duplicates_on_resume(tiny_recipe,
                                                                                   tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe = Recipe.from_toml(tiny_recipe, ["train.tensorboard=true", "train.steps=8",
                                            "train.checkpoint_every=4", "train.sample_every=4",
                                            "train.eval_metrics=['fd-digits']",
                                            "train.eval_samples=16"])
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, ["train.tensorboard=true", "train.steps=4",
                                         "train.checkpoint_every=4", "train.sample_every=4"]),
          run_dir, progress=False)
    # Pretend the first run went on to step 6 after its last checkpoint, then died: resuming
    # must purge those events, as it truncates metrics.jsonl.
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run_dir / "tensorboard")) as stray:
        stray.add_scalar("loss/loss_d", 99.0, 6)
    (run_dir / "recipe.toml").write_text(recipe.to_toml())  # then continue to step 8
    resume(run_dir, progress=False)

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss/loss_d", "loss/loss_g", "speed/images_per_s", "eval/fd-digits"} <= set(
        tags["scalars"])
    loss_d = [(e.step, e.value) for e in events.Scalars("loss/loss_d")]
    assert [s for s, _ in loss_d] == [2, 4, 6, 8] and 99.0 not in [v for _, v in loss_d]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r for r in records if "eval" not in r}
    assert all(abs(v - logged[s]["loss_d"]) < 1e-5 for s, v in loss_d)
    # The first run ended at step 4 (its step-4 and final grids), the resumed one at step 8.
    assert [e.step for e in events.Images("samples")] == [4, 4, 8, 8]


def test_tensorboard_missing_is_a_recipe_error_before_anything_is_written(tiny_recipe, tmp_path,
                                                                          monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    recipe = Recipe.from_toml(tiny_recipe, ["train.tensorboard=true"])
    with pytest.raises(ganzoo.RecipeError, match=r"needs the tensorboard package: pip install "
                                                 r"'ganzoo\[tensorboard\]'"):
        train(recipe, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_ema_averages_weights_and_keeps_the_live_batchnorm_statistics(tiny_recipe, tmp_path):
    from ganzoo.training.loop import _Session

    recipe = Recipe.from_toml(tiny_recipe, ["train.ema=0.9", "train.steps=6"])
    session = _Session(recipe, tmp_path / "run")
    session.run_dir.mkdir()
    (session.run_dir / "recipe.toml").write_text(recipe.to_toml())
    session.run(progress=False)
    live = state_tensors(session.model)
    published = session.inference_state()
    averaged = dict(session.ema.module.named_parameters())
    buffers = [k for k in live if k.startswith("gen.") and "running_" in k]
    assert buffers, "the tiny DCGAN generator has BatchNorm statistics"
    for key in buffers:  # the live statistics, not an average started from var = 1
        assert torch.equal(published[key], live[key]), key
    weights = [k for k in averaged if k.endswith("weight")]
    assert any(not torch.equal(published[k], live[k]) for k in weights)
    for key in weights:
        assert torch.equal(published[key], averaged[key].detach()), key
    saved = state_tensors(ganzoo.load(str(tmp_path / "run")))
    for key in buffers + weights:
        assert torch.equal(saved[key], published[key]), key


def test_a_run_resumed_where_auto_means_another_precision_continues_in_its_own(
        tiny_recipe, tmp_path, monkeypatch):
    recipe = Recipe.from_toml(tiny_recipe, ["train.amp=auto"])
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)  # a bf16 CPU
    train(recipe, tmp_path / "straight", progress=False)
    train(Recipe.from_toml(tiny_recipe, ["train.amp=auto", "train.steps=4"]), tmp_path / "moved",
          progress=False)
    assert json.loads((tmp_path / "moved" / "run.json").read_text())["precision"] == "bf16"
    # ... resumed on a CPU without native bf16, where "auto" alone would mean fp32:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    resume(tmp_path / "moved", overrides=("train.steps=12",), progress=False)
    assert Recipe.from_toml(tmp_path / "moved" / "recipe.toml").train.amp == "auto"  # as written
    straight, moved = final_tensors(tmp_path / "straight"), final_tensors(tmp_path / "moved")
    assert all(torch.equal(straight[k], moved[k]) for k in straight)
