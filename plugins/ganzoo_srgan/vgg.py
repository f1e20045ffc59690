"""The VGG19 content loss of SRGAN, from a weights file the user provides (nothing downloaded).

``vgg22`` is the feature map after the second convolution (and its ReLU) before the second
max-pooling, ``vgg54`` the one after the fourth convolution before the fifth: the paper's
phi_{2,2} and phi_{5,4}. Images go in as ImageNet-normalised RGB in [0, 1].
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.base.errors import CheckpointError, RecipeError

from .config import VGG_WEIGHTS_ENV

#: How many modules of torchvision's ``vgg19().features`` each content loss keeps (up to and
#: including the ReLU after the named convolution).
LAYERS = {"vgg22": 9, "vgg54": 36}
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def weights_path(configured: str) -> Path:
    """The VGG19 weights file: ``[train] vgg_weights``, else ``$GANZOO_VGG19_WEIGHTS``."""
    value = configured or os.environ.get(VGG_WEIGHTS_ENV, "")
    if not value:
        raise RecipeError(f"a VGG content loss needs VGG19 weights: set [train] vgg_weights = "
                          f"\"path/to/vgg19.pth\" or {VGG_WEIGHTS_ENV}=path/to/vgg19.pth "
                          "(torchvision's vgg19 state dict; nothing is downloaded), or use "
                          "content = \"mse\"")
    path = Path(value).expanduser()
    if not path.is_file():
        raise RecipeError(f"VGG19 weights {path}: no such file")
    return path


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors`` or a ``.pth`` read with ``weights_only=True``."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise CheckpointError(f"{path}: not a readable safetensors file: {exc}") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors of many kinds; never fall back to full unpickling
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: cannot be read as a plain state dict with "
                              f"weights_only=True (a pickled whole model is refused): "
                              f"{first}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds a {type(state).__name__}, not a state dict")
    return state


@functools.lru_cache(maxsize=4)
def _features(path: str, layer: str) -> nn.Module:
    from torchvision.models import vgg19

    state = read_state_dict(Path(path))
    state = {k.removeprefix("module."): v for k, v in state.items()}
    features = vgg19().features
    wanted = {k.removeprefix("features."): v for k, v in state.items()
              if k.startswith("features.")}
    try:
        features.load_state_dict(wanted, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: not torchvision's vgg19 state dict (features.0.weight "
                              f"... features.34.bias): {str(exc).splitlines()[0]}") from None
    net = features[:LAYERS[layer]].eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def feature_extractor(layer: str, configured: str, device: torch.device) -> nn.Module:
    """The frozen VGG19 layers of ``layer`` (``"vgg22"``/``"vgg54"``) on ``device``."""
    return _features(str(weights_path(configured)), layer).to(device)


def vgg_loss(features: nn.Module, pred: torch.Tensor, target: torch.Tensor,
             scale: float) -> torch.Tensor:
    """MSE between ``scale`` x the VGG feature maps of ``pred`` and ``target`` (in [-1, 1])."""
    mean = torch.tensor(_MEAN, device=pred.device).view(1, 3, 1, 1)
    std = torch.tensor(_STD, device=pred.device).view(1, 3, 1, 1)

    def embed(images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return features(((images.float() + 1) / 2 - mean) / std) * scale

    with torch.no_grad():
        truth = embed(target)
    return F.mse_loss(embed(pred), truth)
