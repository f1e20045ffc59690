"""``fid``/``kid`` and their ``-clean`` and ``-torchmetrics`` variants: FID and KID in FID's
Inception-v3 pool3 features, under three resize protocols.

The resize to the network's 299x299 input is part of the protocol: the same images score
differently under each (tests/test_metrics.py shows it), so every score records it
(``protocol.extra["resize"]``, described in ``protocol.resizer``):

- ``tf1-bilinear`` (``fid``, ``kid``): TensorFlow-1-compatible bilinear, as the reference TF
  code and torch-fidelity resize;
- ``torchmetrics-bilinear-aa`` (``fid-torchmetrics``, ``kid-torchmetrics``): torch's
  antialiased bilinear, torchmetrics' default;
- ``clean-fid-pil-bicubic`` (``fid-clean``, ``kid-clean``): PIL bicubic per image and channel in
  float mode, clipped to [0, 255], as clean-fid does (Parmar et al. 2022).

All three quantise ``[-1, 1]`` images to uint8 first (a saved PNG) and repeat gray to RGB. The
network is torch-fidelity's ``inception-v3-compat`` (the TensorFlow FID Inception converted to
PyTorch), and nothing is downloaded: ``pip install 'ganzoo[inception]'`` and point
``GANZOO_INCEPTION_WEIGHTS`` at its weights file ``weights-inception-2015-12-05-6726825d.pth``. The
file is first read with ``torch.load(weights_only=True)``, so a file holding pickled code is
refused before torch-fidelity sees it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ganzoo.base.errors import GanzooError
from ganzoo.metrics.features import FrechetDistance, KernelDistance

ENV = "GANZOO_INCEPTION_WEIGHTS"
WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{WEIGHTS_FILE}"
SHA256_PREFIX = "6726825d"  # the hash prefix in the file's name
FEATURES = "2048"  # pool3, the layer of FID and KID
SIZE = 299
INSTALL = "pip install 'ganzoo[inception]'"
_QUANTISE = "[-1, 1] to uint8, gray repeated to RGB, "
#: The resize protocols, by the id recorded with each score.
RESIZES = {
    "tf1-bilinear": _QUANTISE + "TF1-compatible bilinear to 299x299 (torch-fidelity)",
    "torchmetrics-bilinear-aa": _QUANTISE + "torch bilinear, antialiased, align_corners=False, "
                                            "to 299x299 (torchmetrics)",
    "clean-fid-pil-bicubic": _QUANTISE + "PIL bicubic per channel in float mode to 299x299, "
                                         "clipped to [0, 255] (clean-fid)",
}
RESIZER = RESIZES["tf1-bilinear"]
#: The network's modules from its 299x299 input to pool3, in torch-fidelity's forward order.
POOL3 = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_1", "Conv2d_3b_1x1",
         "Conv2d_4a_3x3", "MaxPool_2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
         "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "AvgPool")

_NETWORKS: dict[tuple[str, str, str], object] = {}


class InceptionFeatures:
    """Pool3 features (2048-d) of the user's Inception weights under one of :data:`RESIZES`."""

    def __init__(self, resize: str = "tf1-bilinear"):
        from ganzoo.metrics.digits_classifier import sha256_of

        if resize not in RESIZES:
            raise GanzooError(f"Inception resize {resize!r}: expected one of "
                              f"{', '.join(RESIZES)}")
        raw = os.environ.get(ENV, "").strip()
        if not raw:
            raise GanzooError(
                f"the Inception metrics need FID's Inception weights, which ganzoo cannot "
                f"download: save {WEIGHTS_URL} and set {ENV}=/path/to/{WEIGHTS_FILE} "
                f"(and `{INSTALL}`)")
        path = Path(raw).expanduser()
        if not path.is_file():
            raise GanzooError(f"{ENV}={raw}: no such file; it must be torch-fidelity's "
                              f"{WEIGHTS_FILE}")
        self.resize = resize
        self.resizer = RESIZES[resize]
        self.extra = {"resize": resize, "network": "fid-inception (inception-v3-compat)"}
        self.sha256 = sha256_of(path)
        self.name = f"inception-v3-compat pool3 (torch-fidelity, {path.name})"
        if not self.sha256.startswith(SHA256_PREFIX):
            warnings.warn(f"{ENV}={raw}: sha256 {self.sha256[:8]}... is not that of "
                          f"{WEIGHTS_FILE}; scores will not be comparable with published FIDs",
                          stacklevel=2)
        # torchmetrics' own module for its protocol; torch-fidelity's for the other two.
        kind = "torchmetrics" if resize == "torchmetrics-bilinear-aa" else "torch-fidelity"
        key = (str(path), self.sha256, kind)
        if key not in _NETWORKS:
            _check_plain_tensors(path, raw)
            _NETWORKS[key] = _build(kind, path, raw)
        self.net = _NETWORKS[key]

    def extract(self, images, device):
        import torch

        net = self.net.to(device)
        out = []
        with torch.no_grad():
            for chunk in images.split(64):
                pixels = ((chunk.to(device, torch.float32) + 1) * 127.5).round().clamp(0, 255)
                pixels = pixels.to(torch.uint8)
                if self.resize == "clean-fid-pil-bicubic":
                    out.append(pool3(net, resize_pil_bicubic(pixels)).cpu())
                    continue
                if pixels.shape[1] == 1:
                    pixels = pixels.repeat(1, 3, 1, 1)
                features = net(pixels)
                out.append((features[0] if isinstance(features, tuple) else features).cpu())
        return torch.cat(out)


def resize_pil_bicubic(pixels, size: int = SIZE):
    """uint8 ``[N, 1 or 3, H, W]`` → float32 ``[N, 3, size, size]`` in [0, 255]: each image and
    channel resized by PIL's bicubic filter in float mode ("F"), then clipped, as clean-fid does;
    gray is resized once and repeated."""
    import numpy as np
    import torch
    from PIL import Image

    planes = pixels.to("cpu", torch.float32).numpy()
    out = np.empty((*planes.shape[:2], size, size), dtype=np.float32)
    for i, image in enumerate(planes):
        for c, plane in enumerate(image):
            resized = Image.fromarray(plane).resize((size, size), resample=Image.BICUBIC)
            out[i, c] = np.asarray(resized).clip(0, 255)
    resized = torch.from_numpy(out).to(pixels.device)
    return resized.repeat(1, 3, 1, 1) if resized.shape[1] == 1 else resized


def pool3(net, pixels):
    """torch-fidelity's Inception from a float ``[N, 3, 299, 299]`` in [0, 255] to pool3: its
    forward after its own resize, which asks for uint8 and so cannot take clean-fid's floats."""
    import torch

    x = (pixels.to(net.feature_extractor_internal_dtype) - 128) / 128
    for name in POOL3:
        x = getattr(net, name)(x)
    return torch.flatten(x, 1).to(torch.float32)


def _check_plain_tensors(path: Path, raw: str) -> None:
    """Refuse pickled code before torch-fidelity loads the file without that check."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise GanzooError(f"{ENV}={raw}: not a PyTorch state dict of plain tensors "
                          f"({type(exc).__name__}: {_first_line(exc)})") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise GanzooError(f"{ENV}={raw}: not a state dict of tensors")


def _build(kind: str, path: Path, raw: str):
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise GanzooError(f"the Inception metrics need torch-fidelity: `{INSTALL}` "
                          "(or `pip install torch-fidelity`)") from None
    try:
        if kind == "torchmetrics":
            from torchmetrics.image.fid import NoTrainInceptionV3

            return NoTrainInceptionV3(name="inception-v3-compat", features_list=[FEATURES],
                                      feature_extractor_weights_path=str(path), antialias=True)
        return FeatureExtractorInceptionV3("inception-v3-compat", [FEATURES],
                                           feature_extractor_weights_path=str(path))
    except RuntimeError as exc:  # load_state_dict: missing or mis-shaped tensors
        raise GanzooError(f"{ENV}={raw}: does not fit torch-fidelity's Inception "
                          f"({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    """The first line of an error's text (an empty file makes torch raise with no text)."""
    return (str(exc).strip().splitlines() or ["(no message)"])[0]


def _extractor(resize: str):
    return lambda: InceptionFeatures(resize)


def fid() -> FrechetDistance:
    return FrechetDistance(extractor=_extractor("tf1-bilinear"))


def kid() -> KernelDistance:
    return KernelDistance(extractor=_extractor("tf1-bilinear"))


def fid_clean() -> FrechetDistance:
    return FrechetDistance(extractor=_extractor("clean-fid-pil-bicubic"))


def kid_clean() -> KernelDistance:
    return KernelDistance(extractor=_extractor("clean-fid-pil-bicubic"))


def fid_torchmetrics() -> FrechetDistance:
    return FrechetDistance(extractor=_extractor("torchmetrics-bilinear-aa"))


def kid_torchmetrics() -> KernelDistance:
    return KernelDistance(extractor=_extractor("torchmetrics-bilinear-aa"))
