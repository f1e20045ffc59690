"""Hub datasets for real: huggan-format parquet repos served by olah over loopback, read through
``HF_ENDPOINT``, then offline from the cache."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import socket
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import RECIPES
from hub_data_fixtures import IMAGE, PAIRED, facades_like, parquet, png, publish_dataset
from hub_server import HubServer, publish, use_hub

import ganzoo
from ganzoo import Recipe
from ganzoo.base.errors import DataError
from ganzoo.data import hub_datasets
from ganzoo.data.hub_configs import (HubImagesConfig, HubLabelledConfig, HubPairedConfig,
                                     HubUnpairedConfig)

REPO = "huggan/tiny-facades"


def pixels(data: bytes) -> torch.Tensor:
    """An encoded image as ganzoo's [C, H, W] in [-1, 1]."""
    array = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(127.5).sub(1.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One olah for the file (it starts in seconds, not milliseconds); each test has its own
    repos under its own org."""
    root = tmp_path_factory.mktemp("hub-data")
    with HubServer(root / "mirrors", workdir=root / "olah") as running:
        yield running


@pytest.fixture
def mirrors(server):
    return server.mirrors


@pytest.fixture
def hub(server, tmp_path, monkeypatch):
    """huggingface_hub pointed at olah, with a fresh Hub cache and ganzoo cache; ``REPO`` is
    this test's own (removed afterwards)."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "ganzoo-cache"))
    use_hub(monkeypatch, server.endpoint, tmp_path / "hf")
    yield server
    shutil.rmtree(server.mirrors / "datasets", ignore_errors=True)


def paired(**kw) -> HubPairedConfig:
    return HubPairedConfig(repo=REPO, preprocess="none", flip=False, **kw)


def test_paired_rows_come_back_bit_exact_across_shards_and_row_groups(hub, mirrors):
    columns = facades_like(10)
    publish_dataset(mirrors, REPO, {"train": columns, "test": facades_like(3, seed=1)},
                    PAIRED, shards=2)  # two files of 5 rows, row groups of 4
    train = hub_datasets.build_paired(paired(), "train")
    assert len(train) == 10 and train.resolution is None
    for i in (0, 4, 5, 9):  # both files, both sides of a row-group boundary
        item = train[i]
        assert torch.equal(item["source"], pixels(columns["imageA"][i]))
        assert torch.equal(item["target"], pixels(columns["imageB"][i]))
    # DataLoader workers started by spawn/forkserver get a pickle: the file names, not the rows
    copy = pickle.loads(pickle.dumps(train))
    assert len(pickle.dumps(train)) < 2000 < sum(map(len, columns["imageA"]))
    assert torch.equal(copy[9]["target"], pixels(columns["imageB"][9]))
    test = hub_datasets.build_paired(paired(direction="BtoA"), "test")
    assert len(test) == 3
    assert torch.equal(test[2]["source"], pixels(facades_like(3, seed=1)["imageB"][2]))


def test_a_single_train_split_says_so_and_offers_a_deterministic_held_out_split(hub, mirrors):
    columns = facades_like(20)
    publish_dataset(mirrors, REPO, {"train": columns}, PAIRED)
    with pytest.raises(DataError, match=r"no split 'test' in this dataset repo \(its splits: "
                                        r"'train'\); set \[data\] test_split = \"held-out\""):
        hub_datasets.build_paired(paired(), "test")
    cfg = paired(test_split="held-out", held_out=0.25)
    train, test = (hub_datasets.build_paired(cfg, s) for s in ("train", "test"))
    assert (len(train), len(test)) == (15, 5)
    assert set(train.rows.rows).isdisjoint(test.rows.rows)
    assert sorted(train.rows.rows + test.rows.rows) == list(range(20))
    again = hub_datasets.build_paired(cfg, "test")
    assert again.rows.rows == test.rows.rows  # the same rows on every build
    other = hub_datasets.build_paired(paired(test_split="held-out", held_out=0.25,
                                             held_out_seed=1), "test")
    assert other.rows.rows != test.rows.rows
    row = test.rows.rows[0]
    assert torch.equal(test[0]["target"], pixels(columns["imageB"][row]))


def test_a_repo_with_several_subsets_asks_for_data_dir(hub, mirrors):
    small, large = facades_like(2, seed=1), facades_like(3, seed=2)
    files = {"small/train-00000-of-00001.parquet": parquet(small, PAIRED),
             "large/train-00000-of-00001.parquet": parquet(large, PAIRED)}
    publish(mirrors, REPO, files, repo_type="dataset", lfs=tuple(files))
    with pytest.raises(DataError, match=r"split 'train' is in 2 folders \(large/, small/\): "
                                        r"several subsets; pick one with \[data\] data_dir = "
                                        r"'large'"):
        hub_datasets.build_paired(paired(), "train")
    data = hub_datasets.build_paired(paired(data_dir="small"), "train")
    assert len(data) == 2 and torch.equal(data[1]["source"], pixels(small["imageA"][1]))
    with pytest.raises(DataError, match=r"no parquet split files under data_dir = 'medium'"):
        hub_datasets.build_paired(paired(data_dir="medium"), "train")


def test_revision_pins_a_commit_while_main_moves_on(hub, mirrors, tmp_path):
    first = publish_dataset(mirrors, REPO, {"train": facades_like(4, seed=1)}, PAIRED)
    second = publish_dataset(mirrors, REPO, {"train": facades_like(6, seed=2)}, PAIRED)
    pinned = hub_datasets.build_paired(paired(revision=first), "train")
    latest = hub_datasets.build_paired(paired(), "train")
    assert (len(pinned), len(latest)) == (4, 6)
    assert torch.equal(pinned[3]["source"], pixels(facades_like(4, seed=1)["imageA"][3]))
    assert first[:7] in pinned.rows.label
    # what main resolved to is kept, for pinning later (docs/datasets.md says where)
    ref = tmp_path / "ganzoo-cache" / "hub-data" / "huggan--tiny-facades" / "refs" / "main"
    assert ref.read_text().strip() == second


def test_a_split_over_the_limit_is_refused_before_any_download(hub, mirrors, tmp_path):
    # The pointer claims 3 GiB; olah holds only the small object, so a download would
    # fetch the wrong size and fail: the refusal must come from the metadata alone.
    publish_dataset(mirrors, REPO, {"train": facades_like(2)}, PAIRED,
                    lfs_sizes={"data/train-00000-of-00001.parquet": 3 << 30})
    with pytest.raises(DataError, match=r"split 'train' is 3,072 MiB \(1 parquet files\), over "
                                        r"\[data\] max_download_mb = 1024; raise it .*"
                                        r"--set data.max_download_mb=3072"):
        hub_datasets.build_paired(paired(), "train")
    assert not list((tmp_path / "hf").rglob("*.parquet"))


def dead_endpoint() -> str:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_file_that_decompresses_past_the_limit_is_refused_before_it_is_read(hub, mirrors):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()  # 3 MiB of zeros: a few hundred bytes of zstd
    pq.write_table(pa.table({"imageA": pa.array([bytes(3 << 20)], pa.binary())}), sink,
                   compression="zstd")
    packed = sink.getvalue().to_pybytes()
    assert len(packed) < 4096
    publish(mirrors, REPO, {"data/train-00000-of-00001.parquet": packed}, repo_type="dataset",
            lfs=("data/train-00000-of-00001.parquet",))
    with pytest.raises(DataError, match=r"data/train-00000-of-00001.parquet decompresses to 3 MiB, "
                                        r"over \[data\] max_download_mb = 1"):
        hub_datasets.build_paired(paired(max_download_mb=1), "train")


def test_offline_the_cache_serves_the_same_rows_and_uncached_repos_say_so(
        hub, mirrors, tmp_path, monkeypatch):
    columns = facades_like(5)
    publish_dataset(mirrors, REPO, {"train": columns}, PAIRED)
    online = hub_datasets.build_paired(paired(), "train")[4]
    # offline mode, then no Hub at all at the endpoint (no HF_HUB_OFFLINE)
    for endpoint, offline in ((hub.endpoint, True), (dead_endpoint(), False)):
        use_hub(monkeypatch, endpoint, tmp_path / "hf", offline=offline)
        again = hub_datasets.build_paired(paired(), "train")
        assert torch.equal(again[4]["source"], online["source"])
        assert torch.equal(again[4]["target"], pixels(columns["imageB"][4]))
    with pytest.raises(DataError, match=r"huggan/other@main: the Hub \(http://127.0.0.1:\d+\) "
                                        r"cannot be reached and this dataset is not in the local "
                                        r"cache"):
        hub_datasets.build_paired(HubPairedConfig(repo="huggan/other"), "train")
    use_hub(monkeypatch, hub.endpoint, tmp_path / "hf", offline=True)
    with pytest.raises(DataError, match=r"huggan/other@main: offline mode is on \(HF_HUB_OFFLINE\) "
                                        r"and this dataset is not in the local cache"):
        hub_datasets.build_paired(HubPairedConfig(repo="huggan/other"), "train")


def test_bad_repos_end_in_one_line_naming_what_is_wrong(hub, mirrors):
    columns = facades_like(3)
    columns["imageB"][1] = b"\x89PNG\r\n\x1a\n" + b"garbage" * 40  # a corrupt image in row 1
    publish_dataset(mirrors, REPO, {"train": columns}, PAIRED)
    data = hub_datasets.build_paired(paired(), "train")
    data[0]
    with pytest.raises(DataError, match=r"cannot read image huggan/tiny-facades@\w{7} split 'train' "
                                        r"data/train-00000-of-00001.parquet row 1 \(imageB\): "
                                        r"Truncated"):
        data[1]
    with pytest.raises(DataError, match=r"no column 'A' \(\[data\] column_a\); its columns: "
                                        r"imageA, imageB"):
        hub_datasets.build_paired(paired(column_a="A"), "train")
    with pytest.raises(DataError, match=r"huggan/missing@main: no such Hub dataset repo"):
        hub_datasets.build_paired(HubPairedConfig(repo="huggan/missing"), "train")
    with pytest.raises(DataError, match=r"image \(12x10\) is smaller than crop_size = 256"):
        hub_datasets.build_paired(HubPairedConfig(repo=REPO, preprocess="crop"), "train")[0]


def test_unpaired_domains_leave_out_the_shorter_ones_empty_cells(hub, mirrors):
    horses = [png(i) for i in range(3)] + [None, None]
    zebras = [png(100 + i) for i in range(5)]
    publish_dataset(mirrors, REPO, {"train": {"imageA": horses, "imageB": zebras}}, PAIRED)
    cfg = HubUnpairedConfig(repo=REPO, preprocess="none", flip=False, serial=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = hub_datasets.build_unpaired(cfg, "train")
    assert "2 empty cells in column 'imageA' left out" in str(caught[0].message)
    assert (len(data.rows_a), len(data.rows_b), len(data)) == (3, 5, 5)
    assert torch.equal(data[4]["a"], pixels(horses[1]))  # A wraps round
    assert torch.equal(data[4]["b"], pixels(zebras[4]))


def test_images_and_class_labels(hub, mirrors):
    features = {"image": IMAGE, "label": {"_type": "ClassLabel", "names": ["a", "b", "c"]}}
    images = [png(i, (20, 16)) for i in range(4)]
    publish_dataset(mirrors, REPO, {"train": {"image": images, "label": [0, 1, 0, 1]}}, features)
    plain = hub_datasets.build_images(HubImagesConfig(repo=REPO, resolution=8), "train")
    assert plain[0]["image"].shape == (3, 8, 8) and set(plain[0]) == {"image"}
    labelled = hub_datasets.build_labelled(HubLabelledConfig(repo=REPO, resolution=8), "train")
    assert labelled.num_classes == 3  # from the ClassLabel, though only 0 and 1 occur
    assert labelled[3]["label"].item() == 1 and labelled[3]["label"].dtype == torch.long
    assert torch.equal(labelled[3]["image"], plain[3]["image"])


def test_a_damaged_cache_file_and_a_missing_pyarrow_say_what_to_do(hub, mirrors, tmp_path,
                                                                    monkeypatch):
    publish_dataset(mirrors, REPO, {"train": facades_like(2)}, PAIRED)
    hub_datasets.build_paired(paired(), "train")
    arrow, = (tmp_path / "ganzoo-cache").rglob("*.arrow")
    arrow.write_bytes(arrow.read_bytes()[:100])
    with pytest.raises(DataError, match=r"the cached copy .*train-00000-of-00001.parquet.arrow "
                                        r"is unreadable .*; delete it to download and convert"):
        hub_datasets.build_paired(paired(), "train")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(DataError, match=r"pyarrow, which is not installed: "
                                        r"pip install 'ganzoo\[hub-data\]'"):
        hub_datasets.build_paired(paired(), "train")


@pytest.mark.parametrize("path, split", [
    ("data/train-00000-of-00003.parquet", "train"), ("data/test-00002-of-00003.parquet", "test"),
    ("data/validation.parquet", "validation"), ("default/train/0000.parquet", "train"),
    ("subset/data/test-00000-of-00001.parquet", "test"), ("0000.parquet", None)])
def test_the_split_comes_from_the_file_name_as_the_hub_lays_them_out(path, split):
    from ganzoo.data.hub import split_of

    assert split_of(path) == split


@pytest.mark.parametrize("name", ["../../escape.parquet", "/etc/x.parquet", "data/./t.parquet",
                                  "data\\..\\t.parquet"])
def test_a_file_name_from_the_hub_cannot_leave_the_cache(name):
    from ganzoo.data.hub import _check_repo_path

    with pytest.raises(DataError, match="not a plain path inside the repo"):
        _check_repo_path(REPO, name)
    _check_repo_path(REPO, "data/train-00000-of-00001.parquet")


def test_recipe_keys_are_checked_where_they_are_read():
    with pytest.raises(Exception, match=r"held_out = 0.2 only applies with test_split = "
                                        r"\"held-out\""):
        Recipe.from_dict({"architecture": "pix2pix", "model": {},
                          "data": {"dataset": "hub-paired", "repo": "huggan/facades",
                                   "held_out": 0.2}}, source="r.toml")
    with pytest.raises(Exception, match=r"'facades' is not a Hub dataset id; expected "
                                        r"'org/name'"):
        Recipe.from_dict({"architecture": "pix2pix", "model": {},
                          "data": {"dataset": "hub-paired", "repo": "facades"}},
                         source="r.toml")


FEW = ["data.load_size=20", "data.crop_size=16", "model.resolution=16", "model.gen_width=4",
       "model.disc_width=4", "model.disc_layers=1", "train.steps=2", "train.log_every=1",
       "train.sample_every=2", "train.checkpoint_every=2", "train.sample_count=2"]


@pytest.mark.parametrize("hub_recipe, folder_recipe", [
    ("pix2pix_facades_hub.toml", "pix2pix_facades.toml"),
    ("cyclegan_horse2zebra_hub.toml", "cyclegan_horse2zebra.toml")])
def test_the_hub_recipes_are_the_folder_recipes_on_hub_data(hub_recipe, folder_recipe):
    hub, folder = Recipe.from_toml(RECIPES / hub_recipe), Recipe.from_toml(RECIPES / folder_recipe)
    assert (hub.model, hub.train) == (folder.model, folder.train)
    assert hub.data.config.repo.startswith("huggan/")
    assert hub.data.config.direction == folder.data.config.direction


def test_the_pix2pix_hub_recipe_trains_and_evaluates_on_the_held_out_rows(hub, mirrors, tmp_path):
    # In process (a `ganzoo run` subprocess costs ~30 s of torch import on a busy CI box): the
    # loop reads the data through HF_ENDPOINT as the CLI would, use_hub having set it.
    assert os.environ["HF_ENDPOINT"] == hub.endpoint
    publish_dataset(mirrors, REPO, {"train": facades_like(20, size=(20, 20))}, PAIRED)
    recipe = Recipe.from_toml(RECIPES / "pix2pix_facades_hub.toml",
                              [f"data.repo='{REPO}'", *FEW, "model.depth=4",
                               "train.eval_samples=2"])
    assert ganzoo.train(recipe, tmp_path / "run", progress=False).status == "finished"
    scores = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()
              if '"eval"' in line]
    assert scores and {"paired-l1", "psnr", "ssim"} <= set(scores[-1]["eval"])
    model = ganzoo.load(str(tmp_path / "run"))
    assert model.translate(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_the_cyclegan_hub_recipe_trains_in_process(hub, mirrors, tmp_path):
    columns = facades_like(6, size=(20, 20))
    columns["imageA"][4:] = [None, None]  # 4 horses, 6 zebras
    publish_dataset(mirrors, REPO, {"train": columns}, PAIRED)
    recipe = Recipe.from_toml(RECIPES / "cyclegan_horse2zebra_hub.toml",
                              [f"data.repo='{REPO}'", *FEW, "model.blocks=1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the two empty cells, said once per build
        assert ganzoo.train(recipe, tmp_path / "run", progress=False).status == "finished"


def test_parquet_written_by_the_datasets_library_reads(hub, mirrors):
    """Files that datasets 5.2.0 wrote (tests/fixtures/hub-data/README.md), as huggan's are."""
    folder = Path(__file__).parent / "fixtures" / "hub-data"
    publish(mirrors, REPO, {
        "data/train-00000-of-00001.parquet": (folder / "datasets-5.2.0-paired.parquet").read_bytes(),
        "README.md": "---\n---\n"}, repo_type="dataset", lfs=("data/train-00000-of-00001.parquet",))
    pairs = hub_datasets.build_paired(paired(), "train")
    assert len(pairs) == 5 and pairs[4]["source"].shape == (3, 6, 8)
    rng = np.random.default_rng(0)  # how the fixture's images were drawn
    first = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    assert torch.equal(pairs[0]["source"],
                       torch.from_numpy(first).permute(2, 0, 1).float().div(127.5).sub(1.0))
    labelled_repo = REPO + "-labelled"
    publish(mirrors, labelled_repo, {
        "data/train-00000-of-00001.parquet":
            (folder / "datasets-5.2.0-labelled.parquet").read_bytes()},
        repo_type="dataset", lfs=("data/train-00000-of-00001.parquet",))
    labelled = hub_datasets.build_labelled(
        HubLabelledConfig(repo=labelled_repo, resolution=8, center_crop=False), "train")
    assert labelled.num_classes == 4  # the ClassLabel's names, though label 3 never occurs
    assert [labelled[i]["label"].item() for i in range(4)] == [0, 1, 2, 1]
