"""Real huggingface_hub downloads over loopback HTTP from olah serving local git repos.

How per-test settings reach huggingface_hub: it copies ``HF_ENDPOINT``, ``HF_HOME``,
``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_HUB_DISABLE_TELEMETRY`` (and the rest) into
``huggingface_hub.constants`` once, when first imported; the download code then reads
``constants.ENDPOINT`` / ``constants.HUGGINGFACE_CO_URL_TEMPLATE`` /
``constants.HF_HUB_CACHE`` / ``constants.is_offline_mode()`` at call time. So a test
must patch those module attributes (``hub_server.use_hub`` does, with monkeypatch,
besides setting the env vars); setting env vars alone changes nothing in-process.
Passing ``endpoint=`` and ``cache_dir=`` explicitly also works without any patching
(``test_explicit_endpoint_and_cache_dir``).

Offline after the server stops: both ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``
(as ``constants.HF_HUB_OFFLINE = True``) serve cached files and raise
``LocalEntryNotFoundError`` at once for files never downloaded. Without either, a
cached file still comes back (the failed HEAD falls back to the cache), but an
uncached one is retried with backoff for ~25 s before failing: tests avoid that.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import huggingface_hub as hf
import pytest
from huggingface_hub.errors import LocalEntryNotFoundError

import hub_server
from hub_server import HubServer, publish, use_hub

REPO = "org/repo"
TEST_BUDGET_S = 30  # per test; the whole file takes a few seconds


@pytest.fixture(autouse=True)
def _time_bound():
    """Fail (instead of hanging) a test that runs past TEST_BUDGET_S."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"test exceeded {TEST_BUDGET_S}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_BUDGET_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def mirrors(tmp_path: Path) -> Path:
    return tmp_path / "mirrors"


@pytest.fixture
def hub(mirrors: Path, tmp_path: Path, monkeypatch):
    """A running olah for ``mirrors``, with huggingface_hub pointed at it."""
    with HubServer(mirrors, workdir=tmp_path / "olah") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf")
        yield server


CONFIG_V1 = json.dumps({"z_dim": 8, "resolution": 16})
CONFIG_V2 = json.dumps({"z_dim": 16, "resolution": 32})
WEIGHTS = bytes(range(256)) * 40  # binary, 10 KiB


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def test_publish_lays_out_git_repo_for_olah(mirrors: Path):
    first = publish(mirrors, REPO, {"config.json": CONFIG_V1})
    second = publish(mirrors, REPO, {"config.json": CONFIG_V1}, message="again")
    repo = mirrors / "models" / "org" / "repo"
    assert (repo / ".git").is_dir() and hub_server.repo_path(mirrors, REPO) == repo
    assert len(first) == len(second) == 40 and first != second  # one commit per call
    with pytest.raises(ValueError, match="121-149 bytes"):
        publish(mirrors, REPO, {"bad.bin": b"\xff" * 130})  # olah would answer 500


def test_hf_hub_download_returns_published_bytes(hub, mirrors, tmp_path):
    sha = publish(mirrors, REPO, {"config.json": CONFIG_V1, "weights/g.bin": WEIGHTS})

    path = hf.hf_hub_download(repo_id=REPO, filename="config.json")
    assert _read(path) == CONFIG_V1.encode()
    assert Path(path).is_relative_to(tmp_path / "hf" / "hub")
    assert Path(path).parent.name == sha  # snapshots/<commit sha>/config.json
    assert _read(hf.hf_hub_download(REPO, "weights/g.bin")) == WEIGHTS
    assert hf.HfApi().model_info(REPO, revision="main").sha == sha


def test_snapshot_download_allow_patterns(hub, mirrors):
    sha = publish(mirrors, REPO, {
        "config.json": CONFIG_V1,
        "README.md": "# tiny\n",
        "weights/g.bin": WEIGHTS,
        "weights/d.bin": WEIGHTS[::-1],
    })

    folder = Path(hf.snapshot_download(REPO, allow_patterns=["*.json", "weights/g.*"]))
    assert folder.name == sha
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["config.json", "weights/g.bin"]
    assert (folder / "weights" / "g.bin").read_bytes() == WEIGHTS


def test_revision_pinned_to_first_commit(hub, mirrors):
    first = publish(mirrors, REPO, {"config.json": CONFIG_V1, "keep.txt": "same"}, message="v1")
    second = publish(mirrors, REPO, {"config.json": CONFIG_V2}, message="v2")
    assert first != second

    old = hf.hf_hub_download(REPO, "config.json", revision=first)
    new = hf.hf_hub_download(REPO, "config.json", revision="main")
    assert _read(old) == CONFIG_V1.encode()
    assert _read(new) == CONFIG_V2.encode()
    assert _read(hf.hf_hub_download(REPO, "config.json")) == CONFIG_V2.encode()  # default: main
    assert Path(old).parent.name == first and Path(new).parent.name == second
    # unchanged files at the old commit are still there; the pin also works for snapshots
    pinned = Path(hf.snapshot_download(REPO, revision=first))
    assert (pinned / "config.json").read_text() == CONFIG_V1
    assert (pinned / "keep.txt").read_text() == "same"


@pytest.mark.parametrize("how", ["local_files_only", "HF_HUB_OFFLINE"])
def test_cache_serves_after_server_stops(how, mirrors, tmp_path, monkeypatch):
    sha = publish(mirrors, REPO, {"config.json": CONFIG_V1, "never.bin": WEIGHTS})
    with HubServer(mirrors, workdir=tmp_path / "olah") as server:
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf")
        cached = hf.hf_hub_download(REPO, "config.json")
        snap = hf.snapshot_download(REPO, allow_patterns=["*.json"])
    assert not hub_server._answers(server.endpoint + "/")  # really gone

    if how == "HF_HUB_OFFLINE":
        use_hub(monkeypatch, server.endpoint, tmp_path / "hf", offline=True)
        kwargs = {}
    else:
        kwargs = {"local_files_only": True}
    start = time.monotonic()
    again = hf.hf_hub_download(REPO, "config.json", **kwargs)
    assert again == cached and _read(again) == CONFIG_V1.encode()
    assert _read(hf.hf_hub_download(REPO, "config.json", revision=sha, **kwargs)) == CONFIG_V1.encode()
    assert hf.snapshot_download(REPO, allow_patterns=["*.json"], **kwargs) == snap
    with pytest.raises(LocalEntryNotFoundError):
        hf.hf_hub_download(REPO, "never.bin", **kwargs)
    assert time.monotonic() - start < 5  # no network retries


def test_explicit_endpoint_and_cache_dir(mirrors, tmp_path, monkeypatch):
    """No patched constants: endpoint=/cache_dir= arguments alone reach the server."""
    monkeypatch.setattr(hf.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    sha = publish(mirrors, REPO, {"config.json": CONFIG_V1})
    cache = tmp_path / "cache"
    with HubServer(mirrors, workdir=tmp_path / "olah") as server:
        path = hf.hf_hub_download(REPO, "config.json", endpoint=server.endpoint, cache_dir=cache, token=False)
        info = hf.HfApi(endpoint=server.endpoint, token=False).model_info(REPO, revision="main")
    assert _read(path) == CONFIG_V1.encode() and Path(path).is_relative_to(cache)
    assert info.sha == sha


def test_server_start_failure_is_reported(mirrors, tmp_path):
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'olah: boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = HubServer(mirrors, workdir=tmp_path / "olah", python=str(fake))
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*olah: boom"):
        server.start()
    server.stop()
