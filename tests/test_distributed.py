"""torchrun: N processes compute what one process computes on the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT
from paired_fixtures import make_aligned

import ganzoo
from ganzoo import Recipe
from ganzoo.hub.bundle import state_tensors
from ganzoo.training.data_order import StepBatches
from ganzoo.training.loop import train


def test_each_rank_gets_its_slice_of_the_same_global_batch():
    one = list(StepBatches(20, 6, seed=1, start=0, stop=5))
    ranks = [list(StepBatches(20, 6, seed=1, start=0, stop=5, rank=r, ranks=3)) for r in range(3)]
    for step, batch in enumerate(one):
        assert sum((ranks[r][step] for r in range(3)), []) == batch


def test_a_global_batch_that_does_not_split_is_a_recipe_error(tiny_recipe, monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ganzoo.RecipeError, match=r"batch_size = 8 must be divisible by the 3 "
                                                 r"training processes"):
        train(Recipe.from_toml(tiny_recipe), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_sync_batchnorm_on_a_cpu_is_a_recipe_error(tiny_recipe, tmp_path):
    recipe = Recipe.from_toml(tiny_recipe, ["train.sync_batchnorm=true", "train.device='cpu'"])
    with pytest.raises(ganzoo.RecipeError, match="sync_batchnorm = true needs CUDA"):
        train(recipe, tmp_path / "run", progress=False)


def torchrun(*args, cwd, pythonpath=None):
    paths = [str(p) for p in (pythonpath, ROOT) if p] + [os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": os.pathsep.join(paths)}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "ganzoo", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_two_gloo_processes_train_and_resume_like_one_process(tmp_path):
    root = make_aligned(tmp_path / "data", splits=("train",), n=8, size=(20, 20))
    # pix2pix with instance norm and no dropout: nothing couples the items of a batch and no
    # noise is drawn, so two half batches with averaged gradients are exactly one whole batch.
    recipe = Recipe.from_toml(ROOT / "recipes" / "pix2pix_facades.toml", [
        f"data.root='{root}'", "data.load_size=20", "data.crop_size=16", "model.resolution=16",
        "model.depth=4", "model.gen_width=4", "model.disc_width=4", "model.disc_layers=1",
        "model.norm='instance'", "model.dropout=false", "train.steps=4", "train.batch_size=4",
        "train.checkpoint_every=2", "train.sample_every=100", "train.log_every=1",
        "train.sample_count=2", "train.eval_metrics=[]", "train.device='cpu'",
        "train.decay_start=1.0",  # constant rates: stopping at step 2 changes no schedule
        "train.amp='none'"])  # fp32: equal within 1e-5 needs the same arithmetic in both
    recipe_file = tmp_path / "recipe.toml"
    recipe_file.write_text(recipe.to_toml())
    train(recipe, tmp_path / "one", progress=False)

    # Two processes stop at step 2, then two processes resume to step 4: the first half with a
    # bucket per few tensors (many exchanges started from the backward), the second with DDP's
    # 25 MB (one bucket for this model).
    torchrun("run", recipe_file, "--out", tmp_path / "two", "--set", "train.steps=2",
             "--set", "train.grad_bucket_mb=0.001", "-q", cwd=tmp_path)
    torchrun("run", "--resume", tmp_path / "two", "--set", "train.steps=4",
             "--set", "train.grad_bucket_mb=25", "-q", cwd=tmp_path)

    one = ganzoo.load(str(tmp_path / "one"), components="all")
    two = ganzoo.load(str(tmp_path / "two"), components="all")
    # Every weight matches. (Conv biases right before an instance norm are left out: the norm
    # cancels them, so their gradient is rounding noise that Adam scales up to full steps.)
    weights_one, weights_two = state_tensors(one), state_tensors(two)
    assert weights_one.keys() == weights_two.keys()
    for key in weights_one:
        if not key.endswith("bias"):
            torch.testing.assert_close(weights_two[key], weights_one[key], atol=1e-5, rtol=1e-4,
                                       msg=key)
    # And the networks compute the same functions.
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(two.translate(x), one.translate(x), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(two.judge(x, x), one.judge(x, x), atol=1e-5, rtol=1e-4)

    # Rank 0 alone wrote the logs: one line per step, with the losses of the whole batch.
    def losses(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]
    single, double = losses("one"), losses("two")
    assert [r["step"] for r in double] == [1, 2, 3, 4] == [r["step"] for r in single]
    for a, b in zip(single, double, strict=True):
        assert abs(a["loss_g_l1"] - b["loss_g_l1"]) < 1e-5


@pytest.mark.slow
def test_ranks_train_in_rank_0s_precision_even_on_mixed_hardware(tiny_recipe, tmp_path):
    # Each process reports native bf16 or not through a sitecustomize, as CPUs (or GPUs) of
    # different generations would; amp = "auto" must still mean one precision for all ranks.
    def launch(name: str, bf16_ranks: str):
        site = tmp_path / f"site-{name}"
        site.mkdir()
        (site / "sitecustomize.py").write_text(
            "import os\n"
            "if 'RANK' in os.environ:\n"
            "    import torch\n"
            f"    native = os.environ['RANK'] in {bf16_ranks!r}\n"
            "    torch.cpu._is_avx512_bf16_supported = lambda: native\n"
            "    torch.cpu._is_amx_tile_supported = lambda: native\n")
        torchrun("run", tiny_recipe, "--out", tmp_path / name, "--set", "train.steps=4",
                 "--set", "train.amp='auto'", "-q", cwd=tmp_path, pythonpath=site)
        return state_tensors(ganzoo.load(str(tmp_path / name), components="all"))

    uniform, mixed = launch("uniform", "01"), launch("mixed", "0")
    assert json.loads((tmp_path / "mixed" / "run.json").read_text())["precision"] == "bf16"
    assert all(torch.equal(uniform[key], mixed[key]) for key in uniform)
