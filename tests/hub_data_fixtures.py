"""Tiny dataset repos in exactly huggan's format, for olah to serve (tests/hub_server.py).

huggan's pix2pix/CycleGAN sets were written by ``datasets``' ``push_to_hub``: parquet files
``data/<split>-0000K-of-0000N.parquet`` (git-LFS files on the Hub), each image column the
``datasets`` Image feature, a struct ``{bytes: binary, path: string}``, the features recorded in
the parquet schema metadata under ``huggingface``, and ``dataset_info`` (features, splits,
sizes) in the README's YAML header. These helpers write the same with pyarrow.
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from hub_server import publish

IMAGE = {"_type": "Image"}


def png(seed: int, size: tuple[int, int] = (12, 10), mode: str = "RGB") -> bytes:
    """A PNG of random pixels (``size`` is width, height), the same for the same seed."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def parquet(columns: dict[str, list], features: dict[str, dict], *, row_group: int = 4) -> bytes:
    """One parquet file as ``push_to_hub`` writes it: image columns (lists of encoded image
    bytes or None) as the Image struct, other columns as given."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    arrays = {}
    for name, values in columns.items():
        if features[name] == IMAGE:
            arrays[name] = pa.array([None if v is None else {"bytes": v, "path": f"{name}_{i}.png"}
                                     for i, v in enumerate(values)], image)
        else:
            arrays[name] = pa.array(values, pa.int64())
    meta = {"huggingface": json.dumps({"info": {"features": features}})}
    table = pa.table(arrays).replace_schema_metadata(meta)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group)
    return sink.getvalue().to_pybytes()


def readme(features: dict[str, dict], splits: dict[str, int]) -> str:
    """The README of a pushed dataset: ``dataset_info`` in its YAML header."""
    lines = ["---", "dataset_info:", "  features:"]
    for name, feature in features.items():
        lines.append(f"  - name: {name}")
        if feature["_type"] == "Image":
            lines.append("    dtype: image")
        else:
            lines.append("    dtype:")
            lines.append("      class_label:")
            lines.append("        names:")
            lines += [f"          '{i}': {label}" for i, label in enumerate(feature["names"])]
    lines.append("  splits:")
    for split, rows in splits.items():
        lines += [f"  - name: {split}", f"    num_examples: {rows}"]
    lines += ["configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: data/{split}-*"]
    return "\n".join(lines + ["---", "", "A tiny dataset for ganzoo's tests.", ""])


def publish_dataset(mirrors, repo_id: str, splits: dict[str, dict[str, list]],
                    features: dict[str, dict], *, shards: int = 1, message: str = "upload",
                    lfs_sizes: dict[str, int] | None = None) -> str:
    """Commit ``{split: {column: values}}`` as huggan's layout (each split in ``shards`` files);
    returns the commit sha."""
    files: dict[str, bytes | str] = {}
    for split, columns in splits.items():
        count = len(next(iter(columns.values())))
        bounds = np.linspace(0, count, shards + 1).astype(int)
        for k in range(shards):
            part = {name: values[bounds[k]:bounds[k + 1]] for name, values in columns.items()}
            files[f"data/{split}-{k:05d}-of-{shards:05d}.parquet"] = parquet(part, features)
    counts = {split: len(next(iter(c.values()))) for split, c in splits.items()}
    files["README.md"] = readme(features, counts)
    lfs = tuple(name for name in files if name.endswith(".parquet"))
    return publish(mirrors, repo_id, files, message=message, repo_type="dataset", lfs=lfs,
                   lfs_sizes=lfs_sizes)


def facades_like(count: int, *, seed: int = 0, size=(12, 10)) -> dict[str, list]:
    """``imageA`` / ``imageB`` columns of ``count`` random pairs (pix2pix's layout)."""
    return {"imageA": [png(seed * 1000 + i, size) for i in range(count)],
            "imageB": [png(seed * 1000 + 500 + i, size) for i in range(count)]}


PAIRED = {"imageA": IMAGE, "imageB": IMAGE}
