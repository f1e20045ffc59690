"""Reading pix2pix pairs from a Hub dataset repo against reading the same pairs from a folder
(the figures of docs/datasets.md).

    OMP_NUM_THREADS=1 python benchmarks/hub_data.py [--pairs N] [--size PX] [--rounds R] [--out FILE.json]

Makes ``--pairs`` random JPEG pairs of ``--size`` squared (seeded), writes them both as an
aligned ``paired-folder`` (A|B files) and as a huggan-format dataset repo (parquet with the
Image struct, a git-LFS file) that olah serves on 127.0.0.1 (tests/hub_server.py, so olah and
git are needed: ``pip install -e '.[dev]'``). Then:

- the first build of ``hub-paired``: listing, size check, download and the parquet -> Arrow
  conversion (seconds, once per commit);
- per-item read time of both datasets with the facades recipe's preprocessing
  (``resize_and_crop`` 286 -> 256, flips), items in a seeded random order as training reads
  them; the two are interleaved round by round in one process and the ratio of medians is
  reported (this machine's timing is shared and noisy: read the ratio, not the seconds).
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def jpeg(rng: np.random.Generator, size: int) -> Image.Image:
    # smooth random colour fields (JPEG-sized like photos), not white noise
    small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.BICUBIC)


def encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ganzoo-hub-bench-"))
    try:
        measure(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(args: argparse.Namespace, root: Path) -> None:
    from hub_data_fixtures import PAIRED, publish_dataset
    from hub_server import HubServer, use_hub

    from ganzoo.data.configs import PairedFolderConfig
    from ganzoo.data.hub_configs import HubPairedConfig
    from ganzoo.data.hub_datasets import build_paired
    from ganzoo.data.paired import build_folder

    os.environ["GANZOO_CACHE"] = str(root / "ganzoo-cache")
    rng = np.random.default_rng(0)
    columns = {"imageA": [], "imageB": []}
    (root / "facades" / "train").mkdir(parents=True)
    for i in range(args.pairs):
        a, b = jpeg(rng, args.size), jpeg(rng, args.size)
        columns["imageA"].append(encode(a))
        columns["imageB"].append(encode(b))
        both = Image.new("RGB", (2 * args.size, args.size))
        both.paste(a, (0, 0))
        both.paste(b, (args.size, 0))
        both.save(root / "facades" / "train" / f"{i:04d}.jpg", quality=90)
    publish_dataset(root / "mirrors", "huggan/bench", {"train": columns}, PAIRED)

    class Patch:  # use_hub wants pytest's monkeypatch: setattr/setenv/delenv are enough here
        def setattr(self, obj, name, value):
            setattr(obj, name, value)

        def setenv(self, name, value):
            os.environ[name] = value

        def delenv(self, name, raising=True):
            os.environ.pop(name, None)

    with HubServer(root / "mirrors", workdir=root / "olah") as server:
        use_hub(Patch(), server.endpoint, root / "hf")
        keys = dict(load_size=286, crop_size=256, preprocess="resize_and_crop", flip=True)
        start = time.perf_counter()
        hub = build_paired(HubPairedConfig(repo="huggan/bench", **keys), "train")
        first_build = time.perf_counter() - start
        start = time.perf_counter()
        build_paired(HubPairedConfig(repo="huggan/bench", **keys), "train")
        cached_build = time.perf_counter() - start
    folder = build_folder(PairedFolderConfig(root=root / "facades", layout="aligned", **keys),
                          "train")
    order = torch.randperm(args.pairs, generator=torch.Generator().manual_seed(0)).tolist()
    times: dict[str, list[float]] = {"hub": [], "folder": []}
    for _ in range(args.rounds):
        for name, data in (("folder", folder), ("hub", hub)):
            torch.manual_seed(0)
            start = time.perf_counter()
            for i in order:
                data[i]
            times[name].append((time.perf_counter() - start) / len(order))
    median = {name: statistics.median(values) for name, values in times.items()}
    parquet = sum(len(v) for col in columns.values() for v in col)
    result = {
        "date": datetime.date.today().isoformat(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "pairs": args.pairs, "size": args.size, "rounds": args.rounds,
        "image_bytes_mib": round(parquet / 2**20, 1),
        "first_build_s": round(first_build, 2), "cached_build_s": round(cached_build, 3),
        "item_ms": {name: round(value * 1e3, 2) for name, value in median.items()},
        "item_ms_spread": {name: [round(min(v) * 1e3, 2), round(max(v) * 1e3, 2)]
                           for name, v in times.items()},
        "hub_over_folder": round(median["hub"] / median["folder"], 3),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
