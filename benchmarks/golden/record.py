"""Record golden values from the authors' code: every loss and a summary of every weight and Adam
moment after each training step, for the cases in ``tests/golden_common.py``.

Needs the reference code checked out outside this repository (read it, never copy it):

    git clone https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix /work/ref/pix2pix
    git -C /work/ref/pix2pix checkout 00d5574908eb66fe0127b32d7b030001453f21d0
    git clone https://github.com/pytorch/examples /work/ref/examples
    git -C /work/ref/examples checkout 77f55b912142e11fcfdf5b530231fb9c52f181e8

    GANZOO_REFERENCE_PIX2PIX=/work/ref/pix2pix GANZOO_REFERENCE_EXAMPLES=/work/ref/examples \\
        OMP_NUM_THREADS=1 python benchmarks/golden/record.py

Without them it says so and exits 0. It writes ``tests/fixtures/golden/<case>.json``, which
``tests/test_golden.py`` replays through ganzoo's trainers. Their training step runs as they
wrote it: pix2pix and CycleGAN through ``Pix2PixModel``/``CycleGANModel.optimize_parameters``,
DCGAN through the body of the training loop in ``dcgan/main.py``, executed from its source.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import golden_common as golden  # noqa: E402

from benchmarks.against import dcgan_source  # noqa: E402  (main.py parsed as --against does)

PIX2PIX_COMMIT = "00d5574908eb66fe0127b32d7b030001453f21d0"
EXAMPLES_COMMIT = "77f55b912142e11fcfdf5b530231fb9c52f181e8"


def _environment() -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def _shapes(net: torch.nn.Module) -> list:
    return [[k, list(v.shape)] for k, v in net.state_dict().items()]


def _weights(nets: dict[str, torch.nn.Module]) -> dict:
    return {name: {k: golden.summary(v) for k, v in net.state_dict().items()
                   if not k.endswith("num_batches_tracked")} for name, net in nets.items()}


def _adam(optimizers: dict[str, torch.optim.Optimizer], nets: dict[str, list]) -> dict:
    """Adam's moments by ``net.key`` of each parameter (the optimizer holds them in order)."""
    out = {}
    for name, optimizer in optimizers.items():
        params = [p for group in optimizer.param_groups for p in group["params"]]
        names = [f"{net}.{key}" for net, module in nets[name] for key, _ in
                 module.named_parameters()]
        assert len(names) == len(params), (name, len(names), len(params))
        state = {}
        for key, p in zip(names, params, strict=True):
            s = optimizer.state[p]
            state[key] = {"step": float(s["step"]), "exp_avg": golden.summary(s["exp_avg"]),
                          "exp_avg_sq": golden.summary(s["exp_avg_sq"])}
        out[name] = state
    return out


def _reference_options(case: dict, checkpoints: str) -> SimpleNamespace:
    """Their ``opt``: what ``train.py --model ...`` would parse, for the fields the models read."""
    return SimpleNamespace(
        isTrain=True, gpu_ids=[], checkpoints_dir=checkpoints, name="golden",
        preprocess="resize_and_crop", direction="AtoB", input_nc=case["input_nc"],
        output_nc=case["output_nc"], ngf=case["ngf"], ndf=case["ndf"], netG=case["netG"],
        netD="basic", n_layers_D=case["n_layers_D"], norm=case["norm"],
        no_dropout=not case["dropout"], init_type="normal", init_gain=0.02,
        gan_mode=case["gan_mode"], lr=case["lr"], beta1=case["beta1"],
        lambda_L1=case.get("lambda_L1", 100.0), pool_size=case.get("pool_size", 0),
        lambda_A=case.get("lambda_A", 10.0), lambda_B=case.get("lambda_B", 10.0),
        lambda_identity=case.get("lambda_identity", 0.5))


#: The relative perturbation of the initial weights for the spread run (about one fp32 ulp).
SPREAD = 1e-7


def _record(run) -> tuple[dict, list]:
    """``run(perturb)`` -> (shapes, steps), twice: as is, and from slightly perturbed weights;
    each step carries the second run's numbers as ``spread``."""
    shapes, steps = run(0.0)
    _, spread = run(SPREAD)
    for step, other in zip(steps, spread, strict=True):
        step["spread"] = other
    return shapes, steps


def record_translation(name: str, case: dict, reference: Path) -> dict:
    shapes, steps = _record(lambda perturb: _translation(case, reference, perturb))
    return {"case": case, "shapes": shapes, "steps": steps}


def _translation(case: dict, reference: Path, perturb: float) -> tuple[dict, list]:
    sys.path.insert(0, str(reference))
    from models.cycle_gan_model import CycleGANModel
    from models.pix2pix_model import Pix2PixModel

    with tempfile.TemporaryDirectory() as checkpoints:
        opt = _reference_options(case, checkpoints)
        model = (Pix2PixModel if case["model"] == "pix2pix" else CycleGANModel)(opt)
    nets = {n: getattr(model, "net" + n) for n in model.model_names}
    shapes = {n: _shapes(net) for n, net in nets.items()}
    for n, net in nets.items():
        net.load_state_dict(golden.perturbed(golden.initial_state(shapes[n]), perturb))
    if case["model"] == "pix2pix":
        optimizers = {"G": model.optimizer_G, "D": model.optimizer_D}
        groups = {"G": [("G", nets["G"])], "D": [("D", nets["D"])]}
    else:
        optimizers = {"G": model.optimizer_G, "D": model.optimizer_D}
        groups = {"G": [("G_A", nets["G_A"]), ("G_B", nets["G_B"])],
                  "D": [("D_A", nets["D_A"]), ("D_B", nets["D_B"])]}
    for net in nets.values():
        net.train()
    torch.manual_seed(golden.STEP_SEED)
    steps = []
    for batch in golden.batches(case):
        model.set_input({**batch, "A_paths": [], "B_paths": []})
        model.optimize_parameters()
        losses = {k: float(getattr(model, "loss_" + k).detach()) for k in model.loss_names}
        if case["model"] == "pix2pix":
            losses["D"] = float(model.loss_D.detach())
        steps.append({"losses": losses, "weights": _weights(nets),
                      "adam": _adam(optimizers, groups)})
    sys.path.remove(str(reference))
    return shapes, steps


def record_dcgan(case: dict, examples: Path) -> dict:
    shapes, steps = _record(lambda perturb: _dcgan(case, examples, perturb))
    return {"case": case, "shapes": shapes, "steps": steps}


def _dcgan(case: dict, examples: Path, perturb: float) -> tuple[dict, list]:
    from torch import nn, optim

    classes, body = dcgan_source(examples)
    scope = {"nn": nn, "torch": torch, "nz": case["nz"], "ngf": case["ngf"], "ndf": case["ndf"],
             "nc": case["nc"]}
    exec(compile(ast.Module(classes, []), "dcgan/main.py", "exec"), scope)  # noqa: S102
    net_g, net_d = scope["Generator"](0), scope["Discriminator"](0)
    nets = {"G": net_g, "D": net_d}
    shapes = {n: _shapes(net) for n, net in nets.items()}
    for n, net in nets.items():
        net.load_state_dict(golden.perturbed(golden.initial_state(shapes[n]), perturb))
    # As main.py sets them up (its optimizers and criterion, lr and beta1 from the options).
    optimizer_d = optim.Adam(net_d.parameters(), lr=case["lr"], betas=(case["beta1"], 0.999))
    optimizer_g = optim.Adam(net_g.parameters(), lr=case["lr"], betas=(case["beta1"], 0.999))
    # One pass of the body: inside a one-element loop, as its ``break`` (dry run) needs a loop.
    once = ast.parse("for _ in (0,): pass").body[0]
    once.body = body
    loop = compile(ast.fix_missing_locations(ast.Module([once], [])), "dcgan/main.py", "exec")
    scope.update(netD=net_d, netG=net_g, criterion=nn.BCELoss(), optimizerD=optimizer_d,
                 optimizerG=optimizer_g, real_label=1, fake_label=0, device=torch.device("cpu"),
                 epoch=0, dataloader=[None] * case["steps"], print=lambda *a, **k: None,
                 opt=SimpleNamespace(niter=1, dry_run=False, outf="."))
    torch.manual_seed(golden.STEP_SEED)
    steps = []
    for i, batch in enumerate(golden.batches(case)):
        # Numbered from 1: at i % 100 == 0 the loop body saves sample grids, which is not part
        # of the algorithm (and would run netG once more in train mode).
        scope.update(i=i + 1, data=(batch["image"], torch.zeros(case["batch"])))
        exec(loop, scope)  # noqa: S102
        steps.append({"losses": {"D": float(scope["errD"].detach()),
                                 "G": float(scope["errG"].detach())},
                      "weights": _weights(nets),
                      "adam": _adam({"G": optimizer_g, "D": optimizer_d},
                                    {"G": [("G", net_g)], "D": [("D", net_d)]})})
    return shapes, steps


def _drawn_params(opt, size) -> dict:
    """``get_params`` with its decisions drawn from torch's global RNG (the reference draws them
    from Python's ``random``), in ganzoo's order: top, left, flip. With one seed both sides then
    crop and flip alike; the fixture records what was drawn."""
    w, h = size
    if opt.preprocess == "resize_and_crop":
        w = h = opt.load_size
    top = int(torch.randint(0, h - opt.crop_size + 1, ()))
    left = int(torch.randint(0, w - opt.crop_size + 1, ()))
    return {"crop_pos": (left, top), "flip": torch.rand(()).item() < 0.5}


def record_data(name: str, case: dict, reference: Path) -> tuple[dict, dict]:
    """Every item of a few generated files through the reference's ``AlignedDataset`` /
    ``UnalignedDataset`` and their transforms (``serial_batches``: B in order)."""
    sys.path.insert(0, str(reference))
    from data import aligned_dataset
    from data.unaligned_dataset import UnalignedDataset

    tensors, decisions = {}, []
    with tempfile.TemporaryDirectory() as root:
        golden.write_images(Path(root), case["layout"])
        opt = SimpleNamespace(dataroot=root, phase="train", max_dataset_size=float("inf"),
                              direction=case["direction"], input_nc=case["input_nc"],
                              output_nc=case["output_nc"], preprocess=case["preprocess"],
                              load_size=case["load_size"], crop_size=case["crop_size"],
                              no_flip=False, serial_batches=True)
        drawn = []

        def params(opt, size):
            drawn.append(_drawn_params(opt, size))
            return drawn[-1]

        original = aligned_dataset.get_params
        aligned_dataset.get_params = params
        try:
            dataset = (aligned_dataset.AlignedDataset if case["layout"] == "aligned"
                       else UnalignedDataset)(opt)
            torch.manual_seed(golden.DATA_SEED)
            for i in range(len(dataset)):
                item = dataset[i]
                tensors[f"{i}.A"], tensors[f"{i}.B"] = item["A"], item["B"]
                decisions.append({"A": Path(item["A_paths"]).name,
                                  "B": Path(item["B_paths"]).name,
                                  **({"crop_pos": drawn[-1]["crop_pos"],
                                      "flip": drawn[-1]["flip"]} if drawn else {})})
        finally:
            aligned_dataset.get_params = original
    sys.path.remove(str(reference))
    return tensors, {"case": case, "items": decisions}


def main() -> int:
    pix2pix = os.environ.get("GANZOO_REFERENCE_PIX2PIX")
    examples = os.environ.get("GANZOO_REFERENCE_EXAMPLES")
    if not pix2pix or not examples:
        print(__doc__)
        print("skipped: set GANZOO_REFERENCE_PIX2PIX and GANZOO_REFERENCE_EXAMPLES")
        return 0
    torch.use_deterministic_algorithms(True)
    golden.FIXTURES.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:]
    for name, case in golden.CASES.items():
        if only and name not in only:
            continue
        if case["model"] == "dcgan":
            result = record_dcgan(case, Path(examples))
            result["reference"] = f"pytorch/examples@{EXAMPLES_COMMIT} dcgan/main.py"
        else:
            result = record_translation(name, case, Path(pix2pix))
            result["reference"] = f"junyanz/pytorch-CycleGAN-and-pix2pix@{PIX2PIX_COMMIT}"
        result["environment"] = _environment()
        path = golden.FIXTURES / f"{name}.json"
        path.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n",
                        encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: {len(result['steps'])} steps, "
              f"{path.stat().st_size / 1024:.0f} KiB; losses "
              + "; ".join(json.dumps(s["losses"]) for s in result["steps"]))
    for name, case in golden.DATA_CASES.items():
        if only and name not in only:
            continue
        from safetensors.torch import save_file

        tensors, meta = record_data(name, case, Path(pix2pix))
        meta["reference"] = f"junyanz/pytorch-CycleGAN-and-pix2pix@{PIX2PIX_COMMIT}"
        meta["environment"] = _environment()
        path = golden.FIXTURES / f"data_{name}.safetensors"
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path),
                  metadata={"golden": json.dumps(meta)})
        print(f"{path.relative_to(ROOT)}: {len(meta['items'])} items, "
              f"{path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
