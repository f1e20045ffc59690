"""The reference implementations themselves, timed beside ganzoo (``run.py --against PATH``).

Where the user has the authors' code checked out, the published ratio is against the real
thing, not only against ganzoo's re-creation of its step:

- ``junyanz/pytorch-CycleGAN-and-pix2pix``: ``Pix2PixModel`` / ``CycleGANModel`` are imported
  from the checkout and their ``optimize_parameters`` is the step, with the options
  ``train.py`` would parse for the configuration (``--netG unet_128`` ...);
- ``pytorch/examples``: ``dcgan/main.py`` parses arguments and loads a dataset at import time,
  so its ``Generator``/``Discriminator`` classes and the body of its training loop are parsed
  from the file and executed as written (with its ``BCELoss`` and Adam settings).

Nothing is copied from them: the checkout is imported or read when the benchmark runs. A
checkout is recognised by its files (``models/pix2pix_model.py``, ``dcgan/main.py``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

#: Which checkout each architecture's reference lives in (``kind`` of :func:`checkouts`).
KINDS = {"pix2pix": "pix2pix", "cyclegan": "pix2pix", "dcgan": "examples"}


def checkouts(paths: list[str]) -> dict[str, Path]:
    """``{"pix2pix": ..., "examples": ...}`` for the given checkout folders, by their files.

    Raises ``SystemExit`` with one line when a folder is neither checkout."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if (path / "models" / "pix2pix_model.py").is_file():
            found["pix2pix"] = path
        elif (path / "dcgan" / "main.py").is_file():
            found["examples"] = path
        else:
            raise SystemExit(f"--against {raw}: not a checkout of junyanz/pytorch-CycleGAN-and-"
                             "pix2pix (models/pix2pix_model.py) or pytorch/examples "
                             "(dcgan/main.py)")
    return found


def supported(architecture: str, found: dict[str, Path]) -> bool:
    return KINDS.get(architecture) in found


@contextlib.contextmanager
def _importable(path: Path) -> Iterator[None]:
    """The checkout on ``sys.path`` (its top-level ``models``, ``util`` ... packages), quietly:
    the reference prints every network it builds."""
    sys.path.insert(0, str(path))
    quiet = builtins.print
    builtins.print = lambda *args, **kwargs: None
    try:
        yield
    finally:
        builtins.print = quiet
        sys.path.remove(str(path))


def _options(architecture: str, model_config: dict, checkpoints: str) -> SimpleNamespace:
    """The ``opt`` that ``train.py --model pix2pix|cycle_gan`` parses with its defaults, for the
    fields the models read, at the configuration's size."""
    if architecture == "pix2pix":
        net = {"netG": f"unet_{2 ** model_config['depth']}", "norm": "batch",
               "no_dropout": False, "gan_mode": "vanilla", "pool_size": 0}
    else:
        net = {"netG": f"resnet_{model_config['blocks']}blocks", "norm": "instance",
               "no_dropout": True, "gan_mode": "lsgan", "pool_size": 50}
    return SimpleNamespace(
        isTrain=True, gpu_ids=[], checkpoints_dir=checkpoints, name="benchmark",
        preprocess="resize_and_crop", direction="AtoB", input_nc=3, output_nc=3, ngf=64, ndf=64,
        netD="basic", n_layers_D=3, init_type="normal", init_gain=0.02, lr=0.0002, beta1=0.5,
        lambda_L1=100.0, lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, **net)


def _translation_step(architecture: str, model_config: dict, batch_size: int,
                      checkout: Path) -> Callable[[], None]:
    import torch

    with _importable(checkout):
        from models.cycle_gan_model import CycleGANModel
        from models.pix2pix_model import Pix2PixModel

        with tempfile.TemporaryDirectory() as checkpoints:
            model = (Pix2PixModel if architecture == "pix2pix" else CycleGANModel)(
                _options(architecture, model_config, checkpoints))
    for name in model.model_names:
        getattr(model, "net" + name).train()
    size = model_config["resolution"]
    generator = torch.Generator().manual_seed(0)
    batch = {"A": torch.rand(batch_size, 3, size, size, generator=generator) * 2 - 1,
             "B": torch.rand(batch_size, 3, size, size, generator=generator) * 2 - 1,
             "A_paths": [], "B_paths": []}

    def once() -> None:
        model.set_input(batch)
        model.optimize_parameters()

    once.model = model  # for a look at what was timed
    return once


def dcgan_source(examples: Path) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """``main.py``'s network classes and the body of its inner training loop (``for i, data in
    enumerate(dataloader, 0):``), parsed from the file: the script parses arguments and loads a
    dataset at import time, so it cannot be imported. (The golden-value recorder uses it too.)"""
    tree = ast.parse((examples / "dcgan" / "main.py").read_text(encoding="utf-8"))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)
               and node.name in ("Generator", "Discriminator")]
    outer = next(node for node in tree.body if isinstance(node, ast.For)
                 and ast.unparse(node.target) == "epoch")
    inner = next(node for node in outer.body if isinstance(node, ast.For))
    if len(classes) != 2 or ast.unparse(inner.target) != "(i, data)":
        raise SystemExit(f"--against {examples}: dcgan/main.py has no Generator/Discriminator "
                         "classes or no 'for i, data in enumerate(dataloader, 0)' loop")
    return classes, inner.body


def _dcgan_step(model_config: dict, batch_size: int, examples: Path) -> Callable[[], None]:
    import torch
    from torch import nn, optim

    classes, body = dcgan_source(examples)
    scope = {"nn": nn, "torch": torch, "nz": model_config["z_dim"],
             "ngf": model_config["gen_width"], "ndf": model_config["disc_width"],
             "nc": model_config["channels"]}
    exec(compile(ast.Module(classes, []), str(examples / "dcgan" / "main.py"), "exec"),  # noqa: S102
         scope)
    net_g, net_d = scope["Generator"](0), scope["Discriminator"](0)
    # As main.py sets them up (its default --lr 0.0002 and --beta1 0.5).
    scope.update(netD=net_d, netG=net_g, criterion=nn.BCELoss(), real_label=1, fake_label=0,
                 optimizerD=optim.Adam(net_d.parameters(), lr=0.0002, betas=(0.5, 0.999)),
                 optimizerG=optim.Adam(net_g.parameters(), lr=0.0002, betas=(0.5, 0.999)),
                 device=torch.device("cpu"), epoch=0, dataloader=[None],
                 print=lambda *a, **k: None, opt=SimpleNamespace(niter=1, dry_run=False, outf="."))
    # One pass of the body inside a one-element loop (its ``break`` needs a loop); ``i = 1``
    # skips the sample grids it saves every 100 batches, which are not part of the step.
    loop = ast.parse("for _ in (0,): pass").body[0]
    loop.body = body
    code = compile(ast.fix_missing_locations(ast.Module([loop], [])),
                   str(examples / "dcgan" / "main.py"), "exec")
    size = model_config["resolution"]
    images = torch.rand(batch_size, model_config["channels"], size, size,
                        generator=torch.Generator().manual_seed(0)) * 2 - 1
    scope.update(i=1, data=(images, torch.zeros(batch_size)))

    def once() -> None:
        exec(code, scope)  # noqa: S102

    once.nets = {"gen": net_g, "disc": net_d}  # for a look at what was timed
    return once


def reference_step(architecture: str, model_config: dict, batch_size: int,
                   found: dict[str, Path]) -> Callable[[], None]:
    """One training step of the reference implementation of ``architecture`` at this size."""
    if architecture == "dcgan":
        return _dcgan_step(model_config, batch_size, found["examples"])
    return _translation_step(architecture, model_config, batch_size, found["pix2pix"])
