"""The Hub datasets: ``hub-paired``, ``hub-unpaired``, ``hub-images`` and ``hub-labelled``.

Each is the folder dataset of its kind (``paired-folder``, ``unpaired-folder``,
``image-folder``, ``digits``-like labels) over the rows of a parquet dataset repo
(:mod:`ganzoo.data.hub`): the same items, preprocessing and random draws, with images decoded
from the memory-mapped parquet cells on access.
"""

from __future__ import annotations

import io
import json

import torch
from torch.utils.data import Dataset

from ganzoo.base.errors import DataError
from ganzoo.data.hub import HubRows, open_split, warn_skipped
from ganzoo.data.hub_configs import (HubImagesConfig, HubLabelledConfig, HubPairedConfig,
                                     HubUnpairedConfig)
from ganzoo.data.images import decode_image, random_hflip, resize_square
from ganzoo.data.paired import preprocess, preprocess_pair
from ganzoo.data.unpaired import pick

_FIXED = ("resize_and_crop", "crop", "scale_width_and_crop")


def read_image(rows: HubRows, column: str, index: int, channels: int) -> torch.Tensor:
    """Item ``index``'s image in ``column``, decoded; errors name the repo, file, row, column."""
    data = rows.cell(column, index)
    name = f"{rows.where(index)} ({column})"
    if data is None:
        raise DataError(f"{name}: the cell is empty")
    return decode_image(io.BytesIO(data), channels, name=name)


class HubPairedDataset(Dataset):
    """Items ``{"source", "target"}`` as ``paired-folder`` gives them, from rows of A and B."""

    def __init__(self, *, rows: HubRows, cfg: HubPairedConfig, train: bool):
        self.rows, self.cfg, self.train = rows, cfg, train
        self.input_nc, self.output_nc = cfg.input_nc, cfg.output_nc
        self.resolution = cfg.crop_size if cfg.preprocess in _FIXED else None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        cfg = self.cfg
        a_nc, b_nc = ((cfg.input_nc, cfg.output_nc) if cfg.direction == "AtoB"
                      else (cfg.output_nc, cfg.input_nc))
        a = read_image(self.rows, cfg.column_a, index, a_nc)
        b = read_image(self.rows, cfg.column_b, index, b_nc)
        a, b = preprocess_pair(a, b, cfg, train=self.train, path=self.rows.where(index))
        source, target = (a, b) if cfg.direction == "AtoB" else (b, a)
        return {"source": source, "target": target}


def build_paired(cfg: HubPairedConfig, split: str) -> HubPairedDataset:
    rows = open_split(cfg, split, {"column_a": cfg.column_a, "column_b": cfg.column_b})
    return HubPairedDataset(rows=rows, cfg=cfg, train=split == "train")


class HubUnpairedDataset(Dataset):
    """Items ``{"a", "b"}`` as ``unpaired-folder`` gives them: A in order, B at random (or in
    order with ``serial``, and in the test split); the length is the larger domain's."""

    def __init__(self, *, rows_a: HubRows, rows_b: HubRows, cfg: HubUnpairedConfig, train: bool):
        self.rows_a, self.rows_b, self.cfg, self.train = rows_a, rows_b, cfg, train
        self.input_nc, self.output_nc = cfg.input_nc, cfg.output_nc
        self.resolution = cfg.crop_size if cfg.preprocess in _FIXED else None

    def __len__(self) -> int:
        return max(len(self.rows_a), len(self.rows_b))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        cfg = self.cfg
        col_a, col_b = ((cfg.column_a, cfg.column_b) if cfg.direction == "AtoB"
                        else (cfg.column_b, cfg.column_a))
        i = index % len(self.rows_a)
        j = pick(index, len(self.rows_b), random=self.train and not cfg.serial)
        # Each domain's crop and flip are drawn independently (the reference's unaligned data).
        a, = preprocess((read_image(self.rows_a, col_a, i, cfg.input_nc),), cfg,
                        train=self.train, path=self.rows_a.where(i))
        b, = preprocess((read_image(self.rows_b, col_b, j, cfg.output_nc),), cfg,
                        train=self.train, path=self.rows_b.where(j))
        return {"a": a, "b": b}


def build_unpaired(cfg: HubUnpairedConfig, split: str) -> HubUnpairedDataset:
    rows = open_split(cfg, split, {"column_a": cfg.column_a, "column_b": cfg.column_b})
    domains = []
    for column in ((cfg.column_a, cfg.column_b) if cfg.direction == "AtoB"
                   else (cfg.column_b, cfg.column_a)):
        keep = rows.valid(column)
        warn_skipped(rows, column, len(keep))
        if not keep:
            raise DataError(f"{rows.label}: column {column!r} has no images")
        domains.append(rows.subset(keep))
    return HubUnpairedDataset(rows_a=domains[0], rows_b=domains[1], cfg=cfg,
                              train=split == "train")


class HubImagesDataset(Dataset):
    """Items ``{"image"}`` (and ``"label"``, a long scalar, when ``label_column`` is given),
    resized as ``image-folder`` resizes them."""

    def __init__(self, *, rows: HubRows, cfg: HubImagesConfig, train: bool,
                 label_column: str | None = None, num_classes: int | None = None):
        self.rows, self.cfg = rows, cfg
        self.flip = cfg.flip and train
        self.channels, self.resolution = cfg.channels, cfg.resolution
        self.label_column = label_column
        if num_classes is not None:
            self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        image = read_image(self.rows, self.cfg.column_image, index, self.cfg.channels)
        image = resize_square(image, self.cfg.resolution, center_crop=self.cfg.center_crop)
        if self.flip:
            image = random_hflip(image)
        item = {"image": image}
        if self.label_column is not None:
            item["label"] = torch.tensor(self.rows.cell(self.label_column, index),
                                         dtype=torch.long)
        return item


def build_images(cfg: HubImagesConfig, split: str) -> HubImagesDataset:
    rows = open_split(cfg, split, {"column_image": cfg.column_image})
    return HubImagesDataset(rows=rows, cfg=cfg, train=split == "train")


def build_labelled(cfg: HubLabelledConfig, split: str) -> HubImagesDataset:
    rows = open_split(cfg, split, {"column_image": cfg.column_image,
                                   "column_label": cfg.column_label})
    return HubImagesDataset(rows=rows, cfg=cfg, train=split == "train",
                            label_column=cfg.column_label,
                            num_classes=_num_classes(rows, cfg.column_label))


def _num_classes(rows: HubRows, column: str) -> int:
    """The ClassLabel's class count from the ``datasets`` features in the parquet metadata, or
    the largest label + 1; every label must be an integer in range."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = rows.tables()
    kind = tables[0].schema.field(column).type
    if not pa.types.is_integer(kind):
        raise DataError(f"{rows.label}: column {column!r} ([data] column_label) holds {kind}, "
                        "not integer class labels")
    names = None
    meta = tables[0].schema.metadata or {}
    if b"huggingface" in meta:
        try:
            feature = json.loads(meta[b"huggingface"])["info"]["features"][column]
            if feature.get("_type") == "ClassLabel":
                names = feature.get("names")
        except (ValueError, KeyError, TypeError, AttributeError):
            names = None
    empty = sum(table.column(column).null_count for table in tables)
    if empty:
        raise DataError(f"{rows.label}: column {column!r} ([data] column_label) has {empty} "
                        "empty labels")
    low = min(pc.min(table.column(column)).as_py() for table in tables)
    high = max(pc.max(table.column(column)).as_py() for table in tables)
    if low < 0 or (names and high >= len(names)):
        raise DataError(f"{rows.label}: column {column!r} holds labels from {low} to {high}, "
                        f"outside 0..{len(names) - 1 if names else 'N'} (empty or negative "
                        "labels cannot train a conditional model)")
    return len(names) if names else high + 1
