"""``ganzoo.load`` and ``ganzoo push``: bundles from local folders, registered names or the Hub.

Downloads go through ``huggingface_hub`` so its cache, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT``,
tokens and resumable downloads all apply. Only the index and the parts asked for are fetched.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from pathlib import Path
from typing import Any

import ganzoo.plugin.manager as plugins
from ganzoo.hub.bundle import INDEX_NAME, Components, load_bundle, read_index
from ganzoo.base.errors import CheckpointError, GanzooError, did_you_mean

REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def split_revision(ref: str) -> tuple[str, str | None]:
    """``"org/repo@v1"`` → ("org/repo", "v1")."""
    repo, sep, revision = ref.partition("@")
    return repo, (revision or None) if sep else None


class NoSuchRepo(CheckpointError):
    """The Hub has no such repo (or it is private)."""


class HubUnreachable(CheckpointError):
    """Offline (``HF_HUB_OFFLINE``) or no connection, and the files are not in the cache."""


class NotABundle(CheckpointError):
    """The repo exists but holds no ganzoo bundle."""


def hub_error(exc: Exception, repo_id: str, revision: str | None) -> CheckpointError:
    """Translate huggingface_hub's exceptions into one line naming the repo and what to do."""
    from huggingface_hub import errors

    where = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(exc, errors.RevisionNotFoundError):
        return CheckpointError(f"{where}: no revision {revision!r} in this Hub repo")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return NoSuchRepo(f"{where}: no such Hub repo (or it is private: log in with "
                          "`hf auth login` or set HF_TOKEN)")
    # LocalEntryNotFoundError (offline, not cached) subclasses EntryNotFoundError: first.
    if isinstance(exc, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError)):
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        reason = "offline mode is on (HF_HUB_OFFLINE)" if offline else "the Hub cannot be reached"
        return HubUnreachable(f"{where}: {reason} and this model is not in the local cache; "
                              "connect once to download it, or load a local folder")
    if isinstance(exc, errors.EntryNotFoundError):
        return NotABundle(f"{where}: not a ganzoo bundle (no {INDEX_NAME} in the repo)")
    return CheckpointError(f"{where}: download failed: {type(exc).__name__}: {exc}")


def _reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint accepts a TCP connection (offline mode: not asked)."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return True  # huggingface_hub answers from the cache, with its own offline error
    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def fetch(repo_id: str, *, revision: str | None = None, components: Components = "inference",
          cache_dir: str | Path | None = None, force_download: bool = False,
          local_files_only: bool = False, token: str | bool | None = None) -> Path:
    """Download the index, then the parts of the bundle that ``components`` needs; local path."""
    from huggingface_hub import hf_hub_download, snapshot_download

    if not local_files_only and not _reachable():
        # huggingface_hub would retry for ~30 s, logging each try; the cache may still serve.
        local_files_only = True
    common = dict(repo_id=repo_id, revision=revision, cache_dir=cache_dir, token=token,
                  local_files_only=local_files_only)
    try:
        index_file = Path(hf_hub_download(filename=INDEX_NAME, force_download=force_download,
                                          **common))
        # Pin the rest to the commit the index came from, so a push in between cannot mix files.
        commit = index_file.parent.name
        index = read_index(index_file.parent)
        folder = snapshot_download(allow_patterns=index.allow_patterns(components),
                                   force_download=force_download,
                                   **{**common, "revision": commit})
    except GanzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one line
        raise hub_error(exc, repo_id, revision) from None
    return Path(folder)


def resolve(name_or_path: str, *, revision: str | None = None, components: Components = "inference",
            **download: Any) -> Path:
    """A local bundle folder for a path, a run directory, a registered weights name or a repo."""
    path = Path(name_or_path)
    if path.exists():
        if (path / INDEX_NAME).is_file():
            return path
        if (path / "weights" / INDEX_NAME).is_file():
            return path / "weights"
        if (path / "recipe.toml").is_file():
            raise CheckpointError(f"{path}: this run has no final weights yet; finish it with "
                                  f"`ganzoo run --resume {path}`")
        raise CheckpointError(f"{path}: neither a ganzoo run directory nor a bundle folder "
                              f"(no {INDEX_NAME} or weights/{INDEX_NAME})")
    if name_or_path.startswith(("./", "../", "/", "~", ".\\")):
        raise CheckpointError(f"{path}: no such run directory or bundle folder")
    weights = plugins.registry("weights")
    if name_or_path in weights:
        return _resolve_registered(weights.get(name_or_path), revision, components, **download)
    repo_id, pinned = split_revision(name_or_path)
    if REPO_ID.match(repo_id) and path.parent.is_dir():  # runs/dcgan-digitz: a typo, not a repo
        raise CheckpointError(f"{path}: no such folder (there is a local {path.parent}/; for the "
                              f"Hub repo {repo_id!r}, move out of this directory or use its "
                              "registered weights name)")
    if REPO_ID.match(repo_id):
        return fetch(repo_id, revision=revision or pinned, components=components, **download)
    if "/" in name_or_path or os.sep in name_or_path:
        raise CheckpointError(f"{name_or_path}: no such run directory or bundle folder")
    weights.get(name_or_path)  # raises UnknownNameError with suggestions
    raise AssertionError("unreachable")


def _resolve_registered(entry, revision, components, **download) -> Path:
    """A registered weights name: a packaged folder or a Hub repo pinned to a revision."""
    folder = _registered_folder(entry, revision, components, **download)
    found = read_index(folder).architecture
    if found != entry.architecture:
        raise CheckpointError(f"weights {entry.name!r} (plugin {entry.plugin}) are registered as "
                              f"{entry.architecture!r} but {folder} holds {found!r}")
    return folder


def _registered_folder(entry, revision, components, **download) -> Path:
    source = entry.source
    if source and entry.url and not source.startswith("package:"):
        # A ganzoo-format repo published for third-party weights takes precedence over the URL;
        # without one (or offline, or unreachable) the weights converted from the URL serve.
        repo_id, pinned = split_revision(source)
        try:
            return fetch(repo_id, revision=revision or pinned, components=components, **download)
        except (NoSuchRepo, NotABundle, HubUnreachable):
            pass
    if entry.url:
        from ganzoo.hub.convert import converted_folder

        return converted_folder(entry)
    if source.startswith("package:"):
        package, _, relative = source[len("package:"):].partition("/")
        folder = Path(str(importlib.resources.files(package) / relative))
        if not (folder / INDEX_NAME).is_file():
            raise CheckpointError(f"weights {entry.name!r}: packaged folder {folder} is missing; "
                                  f"reinstall {entry.plugin}")
        return folder
    repo_id, pinned = split_revision(source)
    return fetch(repo_id, revision=revision or pinned, components=components, **download)


#: The keyword arguments ``ganzoo.load`` passes on to ``huggingface_hub`` (see :func:`fetch`).
DOWNLOAD_OPTIONS = ("cache_dir", "force_download", "local_files_only", "token")


def load(name_or_path: str | Path, *, revision: str | None = None,
         components: Components = "inference", device: str = "cpu", **download: Any):
    """See :func:`ganzoo.load`."""
    for key in download:
        if key not in DOWNLOAD_OPTIONS:
            accepted = ("revision", "components", "device", *DOWNLOAD_OPTIONS)
            raise GanzooError(f"ganzoo.load() got an unknown keyword argument {key!r}"
                              f"{did_you_mean(key, accepted)}; it accepts "
                              f"{', '.join(accepted)}")
    if components not in ("inference", "all"):
        raise GanzooError(f"components must be 'inference' or 'all', got {components!r}")
    folder = resolve(str(name_or_path), revision=revision, components=components, **download)
    return load_bundle(folder, components=components, device=device, source=str(name_or_path))


def push(path: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
         token: str | None = None, commit_message: str | None = None) -> str:
    """Upload a run's bundle (or a bundle folder) with its model card; returns the commit URL."""
    from huggingface_hub import HfApi

    folder = resolve(str(path))
    read_index(folder)  # refuse to publish something that would not load
    if not REPO_ID.match(repo_id):
        raise GanzooError(f"{repo_id!r} is not a Hub repo id (expected 'org/name')")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(folder_path=folder, repo_id=repo_id, revision=revision,
                                 commit_message=commit_message or f"Upload {folder.name} with ganzoo")
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"push to {repo_id}: {type(exc).__name__}: {exc}") from None
    return str(getattr(info, "commit_url", info))
