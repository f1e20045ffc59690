"""``fid`` and ``kid``: FID's and KID's Inception-v3 features through torch-fidelity.

Nothing is downloaded: install torch-fidelity (``pip install torch-fidelity``, or
``torchmetrics[image]``, which brings it) and point ``GANZOO_INCEPTION_WEIGHTS`` at its weights
file ``weights-inception-2015-12-05-6726825d.pth`` (the TensorFlow FID Inception converted to
PyTorch). The file is first read with ``torch.load(weights_only=True)``, so a file holding pickled
code is refused before torch-fidelity sees it.
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
RESIZER = ("[-1, 1] to uint8, gray repeated to RGB, TF1-compatible bilinear to 299x299 "
           "(torch-fidelity)")

_NETWORKS: dict[tuple[str, str], object] = {}


class InceptionFeatures:
    """torch-fidelity's ``inception-v3-compat`` pool3 features (2048-d) from the user's file."""

    resizer = RESIZER

    def __init__(self):
        import torch

        from ganzoo.metrics.digits_classifier import sha256_of

        raw = os.environ.get(ENV, "").strip()
        if not raw:
            raise GanzooError(
                f"the Inception metrics need FID's Inception weights, which ganzoo cannot "
                f"download: save {WEIGHTS_URL} and set {ENV}=/path/to/{WEIGHTS_FILE} "
                f"(and `pip install torch-fidelity`)")
        path = Path(raw).expanduser()
        if not path.is_file():
            raise GanzooError(f"{ENV}={raw}: no such file; it must be torch-fidelity's "
                              f"{WEIGHTS_FILE}")
        self.path = path
        self.sha256 = sha256_of(path)
        self.name = f"inception-v3-compat pool3 (torch-fidelity, {path.name})"
        if not self.sha256.startswith(SHA256_PREFIX):
            warnings.warn(f"{ENV}={raw}: sha256 {self.sha256[:8]}... is not that of "
                          f"{WEIGHTS_FILE}; scores will not be comparable with published FIDs",
                          stacklevel=2)
        key = (str(path), self.sha256)
        if key not in _NETWORKS:
            try:  # refuse pickled code before torch-fidelity loads the file without that check
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
                raise GanzooError(f"{ENV}={raw}: not a PyTorch state dict of plain tensors "
                                  f"({type(exc).__name__}: {_first_line(exc)})") from None
            if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
                raise GanzooError(f"{ENV}={raw}: not a state dict of tensors")
            try:
                from torch_fidelity.feature_extractor_inceptionv3 import (
                    FeatureExtractorInceptionV3,
                )
            except ImportError:
                raise GanzooError("the Inception metrics need torch-fidelity: "
                                  "`pip install torch-fidelity`") from None
            try:
                _NETWORKS[key] = FeatureExtractorInceptionV3(
                    "inception-v3-compat", [FEATURES], feature_extractor_weights_path=str(path))
            except RuntimeError as exc:  # load_state_dict: missing or mis-shaped tensors
                raise GanzooError(f"{ENV}={raw}: does not fit torch-fidelity's Inception "
                                  f"({_first_line(exc)})") from None
        self.net = _NETWORKS[key]

    def extract(self, images, device):
        import torch

        net = self.net.to(device)
        out = []
        with torch.no_grad():
            for chunk in images.split(64):
                pixels = ((chunk.to(device, torch.float32) + 1) * 127.5).round().clamp(0, 255)
                pixels = pixels.to(torch.uint8)
                if pixels.shape[1] == 1:
                    pixels = pixels.repeat(1, 3, 1, 1)
                out.append(net(pixels)[0].cpu())
        return torch.cat(out)


def _first_line(exc: BaseException) -> str:
    """The first line of an error's text (an empty file makes torch raise with no text)."""
    return (str(exc).strip().splitlines() or ["(no message)"])[0]


def fid() -> FrechetDistance:
    return FrechetDistance(extractor=InceptionFeatures)


def kid() -> KernelDistance:
    return KernelDistance(extractor=InceptionFeatures)
