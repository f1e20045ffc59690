"""Rows of a parquet dataset repo on the Hugging Face Hub, downloaded once and memory-mapped.

huggan's pix2pix and CycleGAN datasets (and most image datasets on the Hub) are parquet files
``data/<split>-00000-of-0000N.parquet`` whose image columns hold the ``datasets`` Image feature,
a struct of the encoded file's ``bytes`` and its ``path``. This module reads them with
``huggingface_hub`` and ``pyarrow`` alone (``pip install 'ganzoo[hub-data]'``):

1. the revision is resolved to a commit, and the split's files and sizes are listed from the
   Hub's file metadata; a split larger than ``[data] max_download_mb`` is refused here, before
   any byte of it is fetched;
2. each parquet file is downloaded into huggingface_hub's cache (``HF_HOME``, ``HF_ENDPOINT``
   and tokens apply) and converted, one row group at a time, to an uncompressed Arrow file
   under ``$GANZOO_CACHE/hub-data`` (``~/.cache/ganzoo``), as ``datasets`` does;
3. that Arrow file is memory-mapped: an image's bytes are read when its item is, and only that
   image is decoded.

What a revision resolved to is recorded beside the Arrow files, so the same recipe trains
offline (``HF_HUB_OFFLINE=1``, or no network) from the cache.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import attrs

from ganzoo.base.errors import DataError
from ganzoo.base.io import MIB, atomic_path, atomic_write_json, atomic_write_text
from ganzoo.data.hub_configs import HELD_OUT, HubSource
from ganzoo.data.images import check_split

INSTALL = "pip install 'ganzoo[hub-data]'"
COMMIT = re.compile(r"^[0-9a-f]{40}$")
MANIFEST = "manifest.json"
#: How a parquet file's path names its split, first match wins: ``data/train-00000-of-00001.parquet``
#: (``push_to_hub``), ``data/train.parquet`` (uploaded by hand; the name starts with a letter),
#: ``default/train/0000.parquet`` (the Hub's parquet conversion, ``refs/convert/parquet``).
_SPLIT_PATTERNS = (re.compile(r"(?:^|/)(?P<split>[\w.]+?)-\d{5}-of-\d{5}\.parquet$"),
                   re.compile(r"(?:^|/)(?P<split>[A-Za-z][\w.-]*)\.parquet$"),
                   re.compile(r"(?:^|/)(?P<split>[\w.-]+)/[^/]+\.parquet$"))


def cache_root() -> Path:
    """``$GANZOO_CACHE/hub-data`` (default ``~/.cache/ganzoo/hub-data``)."""
    return Path(os.environ.get("GANZOO_CACHE") or Path.home() / ".cache" / "ganzoo") / "hub-data"


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.ipc  # noqa: F401 - submodules used below
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise DataError(f"Hub datasets are read with pyarrow, which is not installed: "
                        f"{INSTALL}") from None
    return pyarrow


# -- what the revision holds ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Manifest:
    """A commit of a dataset repo and its parquet files by split: ``{split: [(path, size)]}``."""

    repo: str
    commit: str
    splits: Mapping[str, tuple[tuple[str, int], ...]]

    @property
    def where(self) -> str:
        return f"{self.repo}@{self.commit[:7]}"

    def folder(self) -> Path:
        return cache_root() / self.repo.replace("/", "--") / self.commit


def split_of(path: str) -> str | None:
    """The split a parquet file of a dataset repo belongs to (None: not a split file)."""
    for pattern in _SPLIT_PATTERNS:
        match = pattern.search(path)
        if match:
            return match["split"]
    return None


def _ref_file(repo: str, revision: str) -> Path:
    return cache_root() / repo.replace("/", "--") / "refs" / quote(revision, safe="")


def _hub_failure(exc: Exception, repo: str, revision: str) -> DataError:
    from huggingface_hub import errors

    where = f"{repo}@{revision}"
    if isinstance(exc, errors.RevisionNotFoundError):
        return DataError(f"{where}: no revision {revision!r} in this Hub dataset repo")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return DataError(f"{where}: no such Hub dataset repo, or no revision {revision!r} in it "
                         "(or it is private: log in with `hf auth login` or set HF_TOKEN)")
    return DataError(f"{where}: Hub request failed: {type(exc).__name__}: {exc}")


def _online() -> bool:
    """Not in offline mode, and the endpoint accepts a TCP connection: huggingface_hub would
    otherwise retry for ~25 s before giving up."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlsplit(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=3.0).close()
    except OSError:
        return False
    return True


def manifest(cfg: HubSource) -> Manifest:
    """The commit ``cfg.revision`` names and its split files: from the Hub, or offline from
    what an earlier online call recorded."""
    revision = cfg.revision or "main"
    if COMMIT.match(revision):  # pinned to a commit: nothing on the Hub can change it
        cached = _read_manifest(cfg.repo, revision)
        if cached is not None:
            return cached
    if not _online():
        return _offline_manifest(cfg.repo, revision)
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        commit = api.dataset_info(cfg.repo, revision=revision).sha
        tree = api.list_repo_tree(cfg.repo, repo_type="dataset", revision=commit, recursive=True)
        files = [(item.path, int(item.size)) for item in tree
                 if item.path.endswith(".parquet") and getattr(item, "size", None) is not None]
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one line
        raise _hub_failure(exc, cfg.repo, revision) from None
    if not COMMIT.match(commit or ""):
        raise DataError(f"{cfg.repo}@{revision}: the Hub answered commit {commit!r}, not a sha")
    splits: dict[str, list[tuple[str, int]]] = {}
    for path, size in sorted(files):
        _check_repo_path(cfg.repo, path)
        split = split_of(path)
        if split is not None:
            splits.setdefault(split, []).append((path, size))
    found = Manifest(repo=cfg.repo, commit=commit,
                     splits={name: tuple(entries) for name, entries in splits.items()})
    if not found.splits:
        raise DataError(f"{found.where}: no parquet split files in this dataset repo (expected "
                        "data/train-00000-of-00001.parquet ..., as push_to_hub writes them)")
    atomic_write_json(found.folder() / MANIFEST, {
        "repo": found.repo, "commit": found.commit,
        "splits": {name: [list(entry) for entry in entries]
                   for name, entries in found.splits.items()}})
    atomic_write_text(_ref_file(cfg.repo, revision), commit + "\n")
    return found


def _check_repo_path(repo: str, path: str) -> None:
    """A file name from the Hub becomes a path in the cache: it must stay inside it."""
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise DataError(f"{repo}: the Hub listed a file named {path!r}, which is not a plain "
                        "path inside the repo; refusing it")


def _read_manifest(repo: str, commit: str) -> Manifest | None:
    path = cache_root() / repo.replace("/", "--") / commit / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        splits = {name: tuple((str(p), int(s)) for p, s in entries)
                  for name, entries in data["splits"].items()}
        for entries in splits.values():
            for name, _ in entries:
                _check_repo_path(repo, name)
        return Manifest(repo=data["repo"], commit=data["commit"], splits=splits)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: unreadable dataset cache record ({exc}); delete the folder "
                        f"{path.parent} and connect once to download it again") from None


def _offline_manifest(repo: str, revision: str) -> Manifest:
    from huggingface_hub import constants

    reason = ("offline mode is on (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE
              else f"the Hub ({constants.ENDPOINT}) cannot be reached")
    commit = revision if COMMIT.match(revision) else None
    if commit is None:
        try:
            commit = _ref_file(repo, revision).read_text(encoding="utf-8").strip()
        except OSError:
            pass
    found = _read_manifest(repo, commit) if commit and COMMIT.match(commit) else None
    if found is None:
        raise DataError(f"{repo}@{revision}: {reason} and this dataset is not in the local cache "
                        f"({cache_root()}); connect once to download it")
    return found


# -- the split's rows ----------------------------------------------------------------------------


def _files_of(found: Manifest, split: str, cfg: HubSource) -> tuple[tuple[str, int], ...]:
    inside = f"{cfg.data_dir}/" if cfg.data_dir else ""
    splits = {name: tuple(f for f in files if f[0].startswith(inside))
              for name, files in found.splits.items()}
    splits = {name: files for name, files in splits.items() if files}
    where = f"{found.where}/{cfg.data_dir}" if cfg.data_dir else found.where
    if split in splits:
        folders = sorted({posixpath.dirname(path) + "/" for path, _ in splits[split]})
        if len(folders) > 1:
            raise DataError(f"{where}: split {split!r} is in {len(folders)} folders "
                            f"({', '.join(folders)}): several subsets; pick one with [data] "
                            f"data_dir = {folders[0].rstrip('/')!r}")
        return splits[split]
    if not splits:
        raise DataError(f"{where}: no parquet split files under data_dir = {cfg.data_dir!r}")
    have = ", ".join(map(repr, sorted(splits)))
    hint = ""
    if split == cfg.test_split and cfg.train_split in splits:
        hint = (f"; set [data] test_split = \"{HELD_OUT}\" to hold out a fixed "
                f"{cfg.held_out_fraction:.0%} of {cfg.train_split!r} as the test split")
    raise DataError(f"{where}: no split {split!r} in this dataset repo (its splits: "
                    f"{have}){hint}")


def check_size(found: Manifest, split: str, files, limit_mb: int) -> None:
    """Refuse a split whose files add up to more than ``limit_mb`` MiB, before downloading."""
    total = sum(size for _, size in files)
    if total > limit_mb * MIB:
        raise DataError(f"{found.where}: split {split!r} is {total / MIB:,.0f} MiB "
                        f"({len(files)} parquet files), over [data] max_download_mb = "
                        f"{limit_mb}; raise it to download it (--set "
                        f"data.max_download_mb={-(-total // MIB)})")


def _arrow_file(found: Manifest, path: str, limit_mb: int) -> Path:
    """The cached Arrow copy of the repo's parquet file ``path``, made on first use; refused
    when its decompressed size (from the file's metadata) is over ``limit_mb``."""
    target = found.folder() / (path + ".arrow")
    if target.is_file():
        return target
    if not _online():
        from huggingface_hub import constants

        reason = ("offline mode is on (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE
                  else f"the Hub ({constants.ENDPOINT}) cannot be reached")
        raise DataError(f"{found.where}: {reason} and {path} is not in the local cache "
                        f"({target.parent}); connect once to download it")
    from huggingface_hub import hf_hub_download

    try:
        local = Path(hf_hub_download(found.repo, path, repo_type="dataset",
                                     revision=found.commit))
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one line
        raise _hub_failure(exc, found.repo, found.commit) from None
    pa = _pyarrow()
    try:  # a corrupt file is ArrowInvalid; a full disk stays a WriteError from atomic_path
        parquet = pa.parquet.ParquetFile(local)
        meta = parquet.metadata
        unpacked = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
        if unpacked > limit_mb * MIB:  # a small file can decompress into a huge one
            raise DataError(f"{found.where}: {path} decompresses to {unpacked / MIB:,.0f} MiB, "
                            f"over [data] max_download_mb = {limit_mb}; raise it to read it "
                            f"(--set data.max_download_mb={-(-unpacked // MIB)})")
        with atomic_path(target) as tmp:
            with pa.OSFile(str(tmp), "wb") as sink, \
                    pa.ipc.new_file(sink, parquet.schema_arrow) as writer:
                for group in range(parquet.num_row_groups):  # one row group in memory at a time
                    writer.write_table(parquet.read_row_group(group))
    except pa.ArrowInvalid as exc:
        raise DataError(f"{found.where}: {path} is not a readable parquet file ({exc})") from None
    return target


class HubRows:
    """The rows of one split: memory-mapped Arrow tables, and which of their rows are in it.

    ``cell(column, i)`` is item ``i``'s encoded image (bytes) or value; ``where(i)`` names the
    file and row for messages. Pickles as its file names (DataLoader workers map them again).
    """

    def __init__(self, *, label: str, files: list[tuple[str, Path]], rows: list[int]):
        self.label = label
        self.files = files  # (path in repo, Arrow file)
        self.rows = rows  # global row numbers, in item order
        self._tables: list | None = None
        self._offsets: list[int] = []

    def __len__(self) -> int:
        return len(self.rows)

    def __getstate__(self):
        return {"label": self.label, "files": self.files, "rows": self.rows}

    def __setstate__(self, state) -> None:
        self.__init__(**state)

    def tables(self) -> list:
        if self._tables is None:
            pa = _pyarrow()
            tables = []
            for _, arrow in self.files:
                try:
                    tables.append(pa.ipc.open_file(pa.memory_map(str(arrow))).read_all())
                except (pa.ArrowInvalid, OSError) as exc:
                    raise DataError(f"{self.label}: the cached copy {arrow} is unreadable "
                                    f"({exc}); delete it to download and convert it again"
                                    ) from None
            self._tables = tables
            self._offsets = [0]
            for table in self._tables:
                self._offsets.append(self._offsets[-1] + table.num_rows)
        return self._tables

    def _locate(self, row: int) -> tuple[int, int]:
        import bisect

        self.tables()
        file = bisect.bisect_right(self._offsets, row) - 1
        return file, row - self._offsets[file]

    def where(self, index: int) -> str:
        file, row = self._locate(self.rows[index])
        return f"{self.label} {self.files[file][0]} row {row}"

    def cell(self, column: str, index: int):
        file, row = self._locate(self.rows[index])
        value = self._tables[file].column(column)[row]
        if hasattr(value, "keys") and "bytes" in value.keys():  # the datasets Image struct
            data = value["bytes"].as_py()
            if data is None and value.is_valid and value["path"].as_py():
                raise DataError(f"{self.where(index)} ({column}): the image is stored outside "
                                f"the parquet file ({value['path'].as_py()!r}), which ganzoo "
                                "does not fetch; only embedded images are read")
            return data
        return value.as_py()

    def valid(self, column: str) -> list[int]:
        """The items whose ``column`` is not empty (null)."""
        self.tables()
        keep = []
        for index, row in enumerate(self.rows):
            file, local = self._locate(row)
            value = self._tables[file].column(column)[local]
            if value.is_valid and (not hasattr(value, "keys") or value["bytes"].is_valid):
                keep.append(index)
        return keep

    def subset(self, items: list[int]) -> HubRows:
        return HubRows(label=self.label, files=self.files, rows=[self.rows[i] for i in items])


def _check_columns(rows: HubRows, columns: Mapping[str, str]) -> None:
    pa = _pyarrow()
    tables = rows.tables()
    schema = tables[0].schema
    for (path, _), table in zip(rows.files[1:], tables[1:]):
        if table.schema.names != schema.names:
            raise DataError(f"{rows.label} {path}: its columns {table.schema.names} differ from "
                            f"those of {rows.files[0][0]} ({schema.names})")
    for key, name in columns.items():
        if name not in schema.names:
            raise DataError(f"{rows.label}: no column {name!r} ([data] {key}); its columns: "
                            f"{', '.join(schema.names)}")
        kind = schema.field(name).type
        if key != "column_label" and not (
                pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or (pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0)):
            raise DataError(f"{rows.label}: column {name!r} ([data] {key}) holds {kind}, not "
                            "images (the datasets Image feature: a struct of bytes and path)")


def held_out_rows(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train rows, test rows)``: a fixed ``fraction`` of ``range(count)`` (at least one row)
    drawn by ``seed`` with numpy's PCG64, the same on every machine; both sorted."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(count)
    test = max(1, round(count * fraction))
    return sorted(order[test:].tolist()), sorted(order[:test].tolist())


def open_split(cfg: HubSource, split: str, columns: Mapping[str, str]) -> HubRows:
    """The ``"train"`` or ``"test"`` rows of the repo ``cfg`` names, with ``columns``
    (``{config key: column name}``) checked to exist and hold images."""
    check_split(split)
    _pyarrow()
    held_out = cfg.test_split == HELD_OUT
    name = cfg.train_split if split == "train" or held_out else cfg.test_split
    found = manifest(cfg)
    files = _files_of(found, name, cfg)
    check_size(found, name, files, cfg.max_download_mb)
    arrows = [(path, _arrow_file(found, path, cfg.max_download_mb)) for path, _ in files]
    rows = HubRows(label=f"{found.where} split {name!r}", files=arrows, rows=[])
    _check_columns(rows, columns)
    count = sum(table.num_rows for table in rows.tables())
    if held_out:
        train, test = held_out_rows(count, cfg.held_out_fraction, cfg.held_out_seed)
        rows.rows = train if split == "train" else test
        rows.label += f" ({'held-out' if split == 'test' else 'training'} part)"
    else:
        rows.rows = list(range(count))
    if not rows.rows:
        raise DataError(f"{rows.label}: no rows")
    return rows


def warn_skipped(rows: HubRows, column: str, kept: int) -> None:
    if kept < len(rows):
        warnings.warn(f"{rows.label}: {len(rows) - kept} empty cells in column {column!r} left "
                      "out", stacklevel=3)
