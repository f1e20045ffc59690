"""The digits classifier: the feature extractor of ``fd-digits``, ``kid-digits``,
``precision-digits``, ``recall-digits`` and the classifier of ``accuracy``.

A small CNN for ``[N, 1, 32, 32]`` digits in ``[-1, 1]``, trained by this module's own script on the
TRAIN split of the built-in digits dataset and evaluated on its TEST split::

    python -m ganzoo.metrics.digits_classifier --out ganzoo/metrics/weights/digits-classifier

The folder holds ``model.safetensors`` and ``config.json`` (architecture, test accuracy, the
weights' sha256, how it was trained); :func:`load_classifier` refuses weights whose hash differs.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.base.errors import CheckpointError
from ganzoo.base.io import atomic_write_json, atomic_path

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
NAME = "digits-classifier"
RESOLUTION = 32
# Every input is brought to the classifier's 32x32 grayscale this way; recorded in each protocol.
RESIZER = ("bilinear to 32x32 (torch interpolate, antialias, align_corners=False); "
           "RGB to gray by ITU-R 601 weights")
ARCHITECTURE = {"stem_pool": 2, "widths": [16, 32], "feature_dim": 64, "num_classes": 10,
                "resolution": RESOLUTION}
TRAINING = {"seed": 0, "epochs": 20, "batch_size": 64, "lr": 2e-3, "weight_decay": 1e-4,
            "max_shift": 2}


def shipped_folder() -> Path:
    """The folder of the weights that ship inside the package."""
    return Path(str(resources.files("ganzoo.metrics") / "weights" / NAME))


class DigitsClassifier(nn.Module):
    """An average-pool stem (32 → 16: the digits are 8x8 at heart, and it keeps the classifier
    cheap on a CPU), conv-ReLU-maxpool stages (16 → 8 → 4), a ReLU feature layer, a linear
    head."""

    def __init__(self, *, stem_pool: int, widths: list[int], feature_dim: int, num_classes: int,
                 resolution: int = RESOLUTION):
        super().__init__()
        assert resolution == RESOLUTION, f"the classifier works at {RESOLUTION}x{RESOLUTION}"
        layers: list[nn.Module] = [nn.AvgPool2d(stem_pool)]
        channels = 1
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            channels = width
        self.body = nn.Sequential(*layers)
        side = resolution // stem_pool // 2 ** len(widths)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, feature_dim),
                                   nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations ``[N, feature_dim]`` of any-size images in [-1, 1]."""
        return self.embed(self.body(prepare(images)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``[N, num_classes]``."""
        return self.head(self.features(images))

    predict = forward


def prepare(images: torch.Tensor) -> torch.Tensor:
    """``[N, 1 or 3, H, W]`` in [-1, 1] → ``[N, 1, 32, 32]`` float32 (see :data:`RESIZER`)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images [N, 1 or 3, H, W], got {tuple(images.shape)}")
    images = images.to(torch.float32)
    if images.shape[1] == 3:
        weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images * weights).sum(dim=1, keepdim=True)
    if images.shape[-2:] != (RESOLUTION, RESOLUTION):
        images = F.interpolate(images, size=(RESOLUTION, RESOLUTION), mode="bilinear",
                               align_corners=False, antialias=True)
    return images


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _load(folder: str, device: str) -> tuple[DigitsClassifier, dict[str, Any]]:
    from safetensors.torch import load_file

    path = Path(folder)
    try:
        config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path / CONFIG_NAME}: cannot read the classifier config ({exc})")
    weights = path / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"{weights}: missing; reinstall ganzoo or retrain it with "
                              f"`python -m ganzoo.metrics.digits_classifier --out {path}`")
    found = sha256_of(weights)
    if found != config.get("sha256"):
        raise CheckpointError(f"{weights}: sha256 {found} does not match {config.get('sha256')} "
                              f"recorded in {CONFIG_NAME}; the file is corrupt or was replaced")
    with torch.random.fork_rng(devices=[]):  # its random init is overwritten: draw nothing
        net = DigitsClassifier(**config["architecture"])
    net.load_state_dict(load_file(weights), strict=True)
    net.requires_grad_(False)
    return net.eval().to(device), config


def load_classifier(folder: str | Path | None = None, *,
                    device: str | torch.device = "cpu") -> DigitsClassifier:
    """The classifier in eval mode (cached); see :func:`classifier_config` for its record."""
    return _load(str(folder or shipped_folder()), str(torch.device(device)))[0]


def classifier_config(folder: str | Path | None = None) -> dict[str, Any]:
    """The shipped (or given) classifier's ``config.json``, after checking the weights' hash."""
    return _load(str(folder or shipped_folder()), "cpu")[1]


class Features(nn.Module):
    """The classifier's penultimate layer as a module of its own, ``[N, C, H, W]`` in [-1, 1] →
    ``[N, 64]``: torchmetrics' ``FrechetInceptionDistance`` and ``KernelInceptionDistance`` take
    it as their custom ``feature`` extractor (``num_features`` says the width)."""

    def __init__(self, net: DigitsClassifier):
        super().__init__()
        self.net = net
        self.num_features = net.head.in_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(images)


def feature_extractor(folder: str | Path | None = None, *,
                      device: str | torch.device = "cpu") -> Features:
    """The shipped (or given) classifier's :class:`Features`, for torchmetrics' ``feature=``."""
    return Features(load_classifier(folder, device=device))


@torch.no_grad()
def features(images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
    """Penultimate-layer features of the shipped classifier, on the images' device."""
    net = load_classifier(device=images.device)
    return torch.cat([net.features(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def predict(images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
    """Class logits of the shipped classifier, on the images' device."""
    net = load_classifier(device=images.device)
    return torch.cat([net(chunk) for chunk in images.split(batch_size)])


@torch.no_grad()
def accuracy(net: DigitsClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of ``images`` that ``net`` classifies as ``labels``."""
    net.eval()
    logits = torch.cat([net(chunk) for chunk in images.split(512)])
    return float((logits.argmax(dim=1) == labels.to(logits.device)).float().mean())


def _shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by a random whole number of pixels in [-max_shift, max_shift] per axis."""
    n, _, h, w = images.shape
    padded = F.pad(images, [max_shift] * 4, value=-1.0)  # -1 is the background
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(h))[:, :, None]  # [n, h, 1]
    cols = (dx + torch.arange(w))[:, None, :]  # [n, 1, w]
    picked = padded.permute(0, 2, 3, 1)[torch.arange(n)[:, None, None], rows, cols]  # [n, h, w, c]
    return picked.permute(0, 3, 1, 2).contiguous()


def train_classifier(out_dir: str | Path, *, epochs: int | None = None) -> dict[str, Any]:
    """Train on the digits TRAIN split with a fixed seed, evaluate on TEST, and write
    ``model.safetensors`` + ``config.json`` into ``out_dir`` atomically. Returns the config."""
    from safetensors.torch import save

    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build

    hp = {**TRAINING, **({"epochs": epochs} if epochs is not None else {})}
    torch.manual_seed(hp["seed"])
    generator = torch.Generator().manual_seed(hp["seed"])
    train = build(DigitsConfig(resolution=RESOLUTION), "train")
    test = build(DigitsConfig(resolution=RESOLUTION), "test")
    net = DigitsClassifier(**ARCHITECTURE)
    opt = torch.optim.AdamW(net.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    steps = hp["epochs"] * -(-len(train) // hp["batch_size"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=hp["lr"], total_steps=steps)
    for _epoch in range(hp["epochs"]):
        net.train()
        order = torch.randperm(len(train), generator=generator)
        for batch in order.split(hp["batch_size"]):
            images = _shift(train.images[batch], hp["max_shift"], generator)
            loss = F.cross_entropy(net(images), train.labels[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
    net.eval()
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    blob = save(state, metadata={"format": "pt"})
    config = {
        "name": NAME,
        "architecture": ARCHITECTURE,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "parameters": sum(v.numel() for v in state.values()),
        "test_accuracy": round(accuracy(net, test.images, test.labels), 6),
        "train_accuracy": round(accuracy(net, train.images, train.labels), 6),
        "data": {"dataset": "digits", "resolution": RESOLUTION, "train_split": len(train),
                 "test_split": len(test)},
        "training": {**hp, "optimizer": "AdamW, one-cycle LR", "augmentation":
                     f"random shifts of up to {hp['max_shift']} px"},
        "resizer": RESIZER,
        "torch_version": torch.__version__,
    }
    out = Path(out_dir)
    with atomic_path(out / WEIGHTS_NAME) as tmp:
        tmp.write_bytes(blob)
    atomic_write_json(out / CONFIG_NAME, config)
    _load.cache_clear()
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganzoo.metrics.digits_classifier",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="Folder to write the weights to.")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"Training epochs (default {TRAINING['epochs']}).")
    args = parser.parse_args(argv)
    config = train_classifier(args.out, epochs=args.epochs)
    print(f"test accuracy {config['test_accuracy']:.4f}, {config['parameters']} parameters, "
          f"sha256 {config['sha256']}: {args.out}")


if __name__ == "__main__":
    main()
