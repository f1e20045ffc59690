"""``digit-captions``: the bundled digits, each with a caption made from its label and measured
attributes, e.g. ``"a thin upright three"`` or ``"a small thick slanted seven"``.

Stroke thickness, slant and size are measured by :mod:`ganzoo.editing.measure` on 32×32 versions
of the images (:data:`MEASURE_RESOLUTION`) and each is split in two at the TRAINING split's
median, for both splits: thickness → thin/thick, |slant| → upright/slanted, size → small/large.
The splits are those of the ``digits`` dataset (stratified 80/20, fixed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganzoo.data.configs import DigitsConfig
from ganzoo.data.images import check_split
from ganzoo.editing import measure

from .config import DigitCaptionsConfig

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Per attribute: (word below the median, word at or above it).
WORDS = {"size": ("small", "large"), "thickness": ("thin", "thick"),
         "slant": ("upright", "slanted")}
ORDER = ("size", "thickness", "slant")  # the order words take in a caption
MEASURE_RESOLUTION = 32


def measured(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{attribute: [N]}`` at :data:`MEASURE_RESOLUTION` (slant as its absolute value)."""
    if images.shape[-1] != MEASURE_RESOLUTION:
        images = F.interpolate(images.float(), size=(MEASURE_RESOLUTION, MEASURE_RESOLUTION),
                               mode="bilinear", align_corners=False, antialias=True)
    values = measure.measure(images.float().clamp(-1, 1))
    values["slant"] = values["slant"].abs()
    return values


def caption(label: int, high: dict[str, bool], attributes: tuple[str, ...]) -> str:
    """``"a thick slanted seven"``: ``high[a]`` says which of ``WORDS[a]`` to use."""
    words = [WORDS[a][int(high[a])] for a in ORDER if a in attributes]
    return " ".join(["a", *words, DIGITS[label]])


class DigitCaptions(Dataset):
    """Items ``{"image": [1, R, R], "caption": str, "label": long}``.

    ``thresholds`` (the training medians) and ``high`` (``[N, 3]`` bools in :data:`ORDER`) say
    which attribute words each caption holds; metrics use them to check generated images.
    """

    channels = 1

    def __init__(self, *, images: torch.Tensor, labels: torch.Tensor, measures_32: dict,
                 thresholds: dict[str, float], attributes: tuple[str, ...]):
        self.images = images
        self.labels = labels
        self.resolution = images.shape[-1]
        self.attributes = attributes
        self.thresholds = thresholds
        self.high = torch.stack([measures_32[a] >= thresholds[a] for a in ORDER], dim=1)
        self.captions = [
            caption(int(y), {a: bool(self.high[i, k]) for k, a in enumerate(ORDER)}, attributes)
            for i, y in enumerate(labels)]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.images[index], "caption": self.captions[index],
                "label": self.labels[index]}


def _split(split: str, resolution: int):
    from ganzoo.data.digits import build as build_digits

    return build_digits(DigitsConfig(resolution=resolution), split)


def build(cfg: DigitCaptionsConfig, split: str) -> DigitCaptions:
    """The ``"train"`` (1437) or ``"test"`` (360) split of the digits, captioned."""
    check_split(split)
    train_measures = measured(_split("train", MEASURE_RESOLUTION).images)
    thresholds = {a: float(v.median()) for a, v in train_measures.items()}
    at_32 = _split(split, MEASURE_RESOLUTION)
    measures = train_measures if split == "train" else measured(at_32.images)
    images = at_32.images if cfg.resolution == MEASURE_RESOLUTION else _split(
        split, cfg.resolution).images
    return DigitCaptions(images=images, labels=at_32.labels, measures_32=measures,
                         thresholds=thresholds, attributes=cfg.attributes)
