"""``lpips``: LPIPS (Zhang et al. 2018) of a translator's outputs against held-out targets,
torchmetrics' implementation on backbone weights the user provides.

torchmetrics ships LPIPS' small linear heads, but the backbone (AlexNet or VGG16 ImageNet
features) is what torchvision downloads, and ganzoo downloads nothing: point
``GANZOO_LPIPS_BACKBONE`` at torchvision's file (``alexnet-owt-7be5be79.pth`` or
``vgg16-397923af.pth``, as kept in ``~/.cache/torch/hub/checkpoints/``). Which backbone it is
follows from the file's shapes; a file holding only the ``features.*`` tensors is enough. The file
is read with ``torch.load(weights_only=True)``, and every tensor LPIPS uses is checked against
torchvision's names and shapes before anything runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganzoo.base.errors import GanzooError
from ganzoo.metrics.paired import PairedMetric

ENV = "GANZOO_LPIPS_BACKBONE"
#: LPIPS backbone → (torchvision constructor, torchvision's weights file, features.0.weight shape).
BACKBONES = {
    "alex": ("alexnet", "alexnet-owt-7be5be79.pth", (64, 3, 11, 11)),
    "vgg": ("vgg16", "vgg16-397923af.pth", (64, 3, 3, 3)),
}
#: The smallest image side each backbone's deepest LPIPS layer still sees one position of.
MIN_SIDE = {"alex": 31, "vgg": 16}

_NETWORKS: dict[tuple[str, str], Any] = {}


def _files() -> str:
    return " or ".join(f"{name} ({file})" for name, file, _ in BACKBONES.values())


def backbone_kind(state: dict[str, torch.Tensor], raw: str) -> str:
    """``"alex"`` or ``"vgg"``, from the shape of the first convolution."""
    first = state.get("features.0.weight")
    for kind, (_, _, shape) in BACKBONES.items():
        if first is not None and tuple(first.shape) == shape:
            return kind
    found = "no key 'features.0.weight'" if first is None else \
        f"features.0.weight of shape {list(first.shape)}"
    raise GanzooError(f"{ENV}={raw}: {found}; expected torchvision's {_files()}")


def load_lpips(raw: str | None = None):
    """torchmetrics' LPIPS network (eval mode, cached) on the backbone file ``raw`` (default:
    ``$GANZOO_LPIPS_BACKBONE``); returns ``(network, kind, sha256 of the file)``."""
    from torchmetrics.functional.image.lpips import _NoTrainLpips

    from ganzoo.metrics.digits_classifier import sha256_of

    raw = (raw if raw is not None else os.environ.get(ENV, "")).strip()
    if not raw:
        raise GanzooError(f"metric 'lpips' needs the ImageNet backbone that torchvision would "
                          f"download, which ganzoo cannot: set {ENV}=/path/to/file, torchvision's "
                          f"{_files()} (found in ~/.cache/torch/hub/checkpoints/ where torchvision "
                          f"has fetched it)")
    path = Path(raw).expanduser()
    if not path.is_file():
        raise GanzooError(f"{ENV}={raw}: no such file; it must be torchvision's {_files()}")
    sha256 = sha256_of(path)
    key = (str(path.resolve()), sha256)
    if key not in _NETWORKS:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            first = (str(exc).strip().splitlines() or ["(no message)"])[0]
            raise GanzooError(f"{ENV}={raw}: not a PyTorch state dict of plain tensors "
                              f"({type(exc).__name__}: {first})") from None
        if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
            raise GanzooError(f"{ENV}={raw}: not a state dict of tensors")
        kind = backbone_kind(state, raw)
        features = checked_features(state, kind, raw)  # before building anything
        net = _NoTrainLpips(net=kind, pnet_rand=True)  # the backbone built without weights
        net.net.load_state_dict({name: features[name.split(".", 1)[1]]  # slice2.3.w: 3.w
                                 for name in net.net.state_dict()}, strict=True)
        _NETWORKS[key] = (net, kind)
    net, kind = _NETWORKS[key]
    return net, kind, sha256


def checked_features(state: dict, kind: str, raw: str) -> dict[str, torch.Tensor]:
    """torchvision's ``features.<i>.<param>`` tensors as ``<i>.<param>``, each checked for
    presence and shape against torchvision's network (built on the meta device: shapes only);
    any key but ``features.*`` / ``classifier.*`` is refused, as a file of another network
    would be."""
    import torchvision

    constructor, file, _ = BACKBONES[kind]
    stray = sorted(k for k in state if not k.startswith(("features.", "classifier.")))
    if stray:
        raise GanzooError(f"{ENV}={raw}: unexpected key {stray[0]!r} ({len(stray)} in all) for "
                          f"torchvision's {constructor} ({file})")
    with torch.device("meta"):
        expected = getattr(torchvision.models, constructor)().features.state_dict()
    out = {}
    for name, tensor in expected.items():
        source = f"features.{name}"
        if source not in state:
            raise GanzooError(f"{ENV}={raw}: no key {source!r}; expected torchvision's "
                              f"{constructor} ({file})")
        if state[source].shape != tensor.shape:
            raise GanzooError(f"{ENV}={raw}: {source} has shape {list(state[source].shape)}, "
                              f"torchvision's {constructor} has {list(tensor.shape)}")
        out[name] = state[source].to(torch.float32)
    return out


class LPIPS(PairedMetric):
    """Mean LPIPS distance (lower is closer) of ``translate(source)`` to ``target``."""

    name = "lpips"

    def compute(self, model, *, n: int, seed: int, device, data=None):
        import torchmetrics

        from torchmetrics.functional.image import lpips as tm_lpips

        self.net, self.kind, self.extractor_sha256 = load_lpips()
        self.device = device
        constructor, _, _ = BACKBONES[self.kind]
        self.extractor = (f"LPIPS {self.kind} (torchmetrics {torchmetrics.__version__} linear "
                          f"heads, {constructor} backbone from {ENV})")
        self.heads = Path(tm_lpips.__file__).parent / "lpips_models" / f"{self.kind}.pth"
        return super().compute(model, n=n, seed=seed, device=device, data=data)

    def measure(self, pred, target):
        from torchmetrics.functional.image.lpips import _lpips_update

        pred, target = _three_channels(pred), _three_channels(target)
        side = min(pred.shape[-2:])
        if side < MIN_SIDE[self.kind]:
            raise GanzooError(f"metric 'lpips' with the {self.kind} backbone needs images of at "
                              f"least {MIN_SIDE[self.kind]}x{MIN_SIDE[self.kind]}, got "
                              f"{tuple(pred.shape[-2:])}")
        net = self.net.to(self.device)
        with torch.no_grad():
            scores = _lpips_update(pred.to(self.device).clamp(-1, 1),
                                   target.to(self.device).clamp(-1, 1), net=net, normalize=False)
        return float(scores.double().mean())

    def protocol_extra(self) -> dict:
        from ganzoo.metrics.digits_classifier import sha256_of

        return {"backbone": self.kind, "linear_heads_sha256": sha256_of(self.heads),
                "input": "[-1, 1], gray repeated to RGB, no resize", "reduction": "mean"}


def _three_channels(images: torch.Tensor) -> torch.Tensor:
    if images.shape[1] == 1:
        return images.repeat(1, 3, 1, 1)
    if images.shape[1] != 3:
        raise GanzooError(f"metric 'lpips' compares RGB or gray images, got {images.shape[1]} "
                          "channels")
    return images
