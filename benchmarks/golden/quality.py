"""Equal-steps quality: ganzoo's pix2pix against the authors' code on the embedded photo pairs.

Both train with the reference's own settings (unet_128, batch norm, dropout, 70x70 PatchGAN,
batch 4, vanilla GAN + 100 x L1, Adam 2e-4 / 0.5, constant then linearly decaying learning rate)
on the same batches: the embedded ``photo-pairs`` edges2photo data of
``recipes/pix2pix_edges2photo.toml`` at 128x128, in the order ganzoo's step loader gives for the
seed. ganzoo trains through ``ganzoo.train`` (its real loop); the reference through its
``Pix2PixModel.optimize_parameters`` and its ``linear`` scheduler stepped once a step. The score
is the held-out L1 of the generator in eval mode on the test tiles (the same function for both).

    GANZOO_REFERENCE_PIX2PIX=/work/ref/pix2pix OMP_NUM_THREADS=1 \\
        python benchmarks/golden/quality.py --impl ganzoo --seed 0 --out results.jsonl

(see ``benchmarks/golden/record.py`` for how to check the reference out). ``--impl ganzoo``
alone needs no reference code. One JSON line per run is appended to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch

DATA = {"dataset": "photo-pairs", "task": "edges2photo", "resolution": 128, "photo_size": 256,
        "edge_sigma": 1.0, "items": 2048, "flip": True}


def recipe(args) -> dict:
    return {
        "architecture": "pix2pix", "seed": args.seed, "data": DATA,
        "model": {"input_nc": 1, "output_nc": 3, "resolution": 128, "depth": 7,
                  "gen_width": args.width, "disc_width": args.width, "norm": "batch",
                  "dropout": True, "discriminator": "patch", "disc_layers": 3},
        "train": {"steps": args.steps, "batch_size": 4, "lr_gen": 2e-4, "lr_disc": 2e-4,
                  "betas": [0.5, 0.999], "loss": "non-saturating", "l1_weight": 100.0,
                  "decay_start": 0.5, "amp": args.amp, "device": "cpu",
                  "log_every": 50, "sample_every": 10 * args.steps,
                  "checkpoint_every": 10 * args.steps, "eval_metrics": []},
    }


def held_out_l1(translate, test) -> float:
    """Mean |G(x) - y| over the test tiles, in [-1, 1] units, one tile at a time."""
    total = 0.0
    with torch.no_grad():
        for i in range(len(test)):
            item = test[i]
            out = translate(item["source"][None])
            total += float((out - item["target"][None]).abs().mean())
    return total / len(test)


def run_ganzoo(args, test) -> float:
    import tomli_w

    import ganzoo

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.toml"
        path.write_text(tomli_w.dumps(recipe(args)), encoding="utf-8")
        ganzoo.train(str(path), str(Path(tmp) / "run"), progress=False)
        model = ganzoo.load(str(Path(tmp) / "run")).eval()
        return held_out_l1(model.gen, test)


def run_reference(args, test, train) -> float:
    reference = os.environ.get("GANZOO_REFERENCE_PIX2PIX")
    if not reference:
        raise SystemExit("--impl reference needs GANZOO_REFERENCE_PIX2PIX (see record.py)")
    sys.path.insert(0, reference)
    from models import networks
    from models.pix2pix_model import Pix2PixModel

    from ganzoo.training.data_order import step_loader

    half = args.steps // 2
    opt = SimpleNamespace(
        isTrain=True, gpu_ids=[], checkpoints_dir=tempfile.mkdtemp(), name="quality",
        preprocess="crop", direction="AtoB", input_nc=1, output_nc=3, ngf=args.width,
        ndf=args.width, netG="unet_128", netD="basic", n_layers_D=3, norm="batch",
        no_dropout=False, init_type="normal", init_gain=0.02, gan_mode="vanilla", lr=2e-4,
        beta1=0.5, lambda_L1=100.0, pool_size=0, lr_policy="linear", epoch_count=1,
        n_epochs=half, n_epochs_decay=args.steps - half)
    torch.manual_seed(args.seed)  # as ganzoo.train does before building its model
    model = Pix2PixModel(opt)
    schedulers = [networks.get_scheduler(o, opt) for o in model.optimizers]
    loader = step_loader(train, batch_size=4, seed=args.seed, start=0, stop=args.steps,
                         num_workers=0, pin_memory=False)
    model.netG.train()
    model.netD.train()
    for batch in loader:
        model.set_input({"A": batch["source"], "B": batch["target"], "A_paths": [],
                         "B_paths": []})
        model.optimize_parameters()
        for scheduler in schedulers:  # their per-epoch update, one "epoch" a step
            scheduler.step()
    model.netG.eval()
    return held_out_l1(model.netG, test)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("ganzoo", "reference"), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=773)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf (64: the reference's)")
    parser.add_argument("--amp", default="none", help="ganzoo's [train] amp")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from ganzoo.data.configs import PhotoPairsConfig
    from ganzoo.data.paired import build_photos
    from ganzoo.config.structure import structure

    cfg = structure({k: v for k, v in DATA.items() if k != "dataset"}, PhotoPairsConfig,
                    section="data")
    train, test = build_photos(cfg, "train"), build_photos(cfg, "test")
    start = time.perf_counter()
    l1 = run_ganzoo(args, test) if args.impl == "ganzoo" else run_reference(args, test, train)
    result = {"impl": args.impl, "seed": args.seed, "steps": args.steps, "width": args.width,
              "amp": args.amp if args.impl == "ganzoo" else "none", "held_out_l1": round(l1, 4),
              "test_tiles": len(test), "seconds": round(time.perf_counter() - start, 1),
              "threads": torch.get_num_threads(),
              "cpu_capability": torch.backends.cpu.get_cpu_capability(),
              "torch": torch.__version__}
    with args.out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
