"""A real Hugging Face Hub over loopback HTTP, for tests: ``olah`` serving local git repos.

`olah <https://pypi.org/project/olah/>`_ (a self-hosted Hub mirror, in the ``dev``
extra) runs here with ``[accessibility] offline = true`` and a ``mirrors-path``: it
never contacts huggingface.co and answers the Hub's HTTP API from plain git repos.

Layout (what olah 0.5.x reads; see ``olah/server_mirror.py``)::

    <mirrors>/<repo_type>s/<org>/<name>/      a git repo (non-bare), branch ``main``
    e.g.  <mirrors>/models/org/repo/.git

Every request opens the git repo afresh, so commits published while the server runs
are visible at once (``main`` moves; older commits stay reachable by sha).
Revisions are resolved by git itself: branch and tag names, full and short commit
shas. ``X-Repo-Commit`` is the commit sha, ``ETag`` the git blob sha.

Dataset repos (``repo_type="dataset"``) are served the same way under
``/datasets/...`` and ``/api/datasets/...``; ``publish(..., lfs=(...))`` commits files as
git-LFS pointers with their objects under ``.git/lfs/objects/``, which olah serves and
reports (``lfs`` size and sha256) as the Hub does for large files.

Served from the mirror (offline): ``HEAD``/``GET /{org}/{repo}/resolve/{rev}/{path}``,
``/api/models/{org}/{repo}/revision/{rev}`` (what ``snapshot_download`` and
``model_info(revision=...)`` use), ``/api/models/{org}/{repo}/tree/{rev}/{path}``,
``paths-info``, ``commits`` and ``refs``. NOT served: ``/api/models/{org}/{repo}``
with no revision (olah answers 401 RepositoryNotFound offline), so call
``HfApi().model_info(repo_id, revision="main")``, not ``model_info(repo_id)``.
Missing things come back as ``RepositoryNotFoundError`` for a missing file or
unknown branch when the revision is a branch name, and as a 404 EntryNotFound
(``RemoteEntryNotFoundError``) for a missing file at a full commit sha.

Client side: ``huggingface_hub`` reads its settings (``HF_ENDPOINT``, ``HF_HUB_CACHE``,
``HF_HUB_OFFLINE``, ...) into ``huggingface_hub.constants`` once, at import, so
setting environment variables inside a test is not enough. :func:`use_hub` sets the
environment *and* patches those constants through ``monkeypatch``; passing
``endpoint=``/``cache_dir=`` explicitly to the download functions works as well.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path, PurePosixPath

__all__ = ["HubServer", "publish", "repo_path", "start_hub", "use_hub"]

_REPO_TYPES = {"model": "models", "dataset": "datasets", "space": "spaces"}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "ganzoo tests",
    "GIT_AUTHOR_EMAIL": "tests@ganzoo.invalid",
    "GIT_COMMITTER_NAME": "ganzoo tests",
    "GIT_COMMITTER_EMAIL": "tests@ganzoo.invalid",
    # No system/user git config: a CI box or a developer's gpg signing must not matter.
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def repo_path(mirrors: Path, repo_id: str, repo_type: str = "model") -> Path:
    """Where olah looks for the git repo of ``repo_id`` under ``mirrors``."""
    org, sep, name = repo_id.partition("/")
    if not sep or not org or not name or "/" in name:
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    if repo_type not in _REPO_TYPES:
        raise ValueError(f"repo_type must be one of {sorted(_REPO_TYPES)}, got {repo_type!r}")
    return Path(mirrors) / _REPO_TYPES[repo_type] / org / name


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(var, None)
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=30,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}:\n{done.stderr.strip()}")
    return done.stdout.strip()


def _check_servable(name: str, data: bytes) -> None:
    # olah 0.5.4 reads every 121..149-byte blob as text to sniff for an LFS pointer
    # and answers 500 when it is not UTF-8; huggingface_hub then retries for ~25 s.
    if 120 < len(data) < 150:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{name}: olah cannot serve a binary file of 121-149 bytes "
                f"({len(data)} bytes); pad or trim it"
            ) from None


def publish(
    mirrors: Path,
    repo_id: str,
    files: dict[str, bytes | str],
    *,
    message: str = "update",
    repo_type: str = "model",
    lfs: tuple[str, ...] = (),
    lfs_sizes: dict[str, int] | None = None,
) -> str:
    """Commit ``files`` (path in repo -> content) to ``repo_id`` on branch ``main``.

    Creates the git repo on first use; later calls add one commit each (even when
    nothing changed), keeping files not named. ``str`` content is written as UTF-8.
    Returns the new commit's full sha, usable as ``revision=`` to pin it.

    Files named in ``lfs`` are committed as the Hub stores large files: a git-LFS
    pointer (``oid sha256``, ``size``) in the tree and the content under
    ``.git/lfs/objects/``, where olah serves it from (no git-lfs needed); the Hub's
    metadata then reports the content's size and sha256. ``lfs_sizes`` makes a
    pointer claim another size (a file too large to fetch, never fetched).
    """
    repo = repo_path(mirrors, repo_id, repo_type)
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "-q")
        _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    names = []
    for name, content in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] == ".git":
            raise ValueError(f"bad file path in repo: {name!r}")
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        if name in lfs:
            data = _lfs_pointer(repo, data, (lfs_sizes or {}).get(name))
        _check_servable(name, data)
        target = repo.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        names.append(str(rel))
    if names:
        _git(repo, "add", "--", *names)
    _git(repo, "commit", "-q", "--allow-empty", "--no-verify", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _lfs_pointer(repo: Path, data: bytes, claimed_size: int | None) -> bytes:
    """Store ``data`` as a git-LFS object of ``repo``; its pointer file's content."""
    oid = hashlib.sha256(data).hexdigest()
    target = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    size = len(data) if claimed_size is None else claimed_size
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class HubServer:
    """olah, offline, serving the git repos under ``mirrors`` on 127.0.0.1.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Its config, cache
    (``repos-path``) and log live in ``workdir`` (a fresh temporary folder, removed on
    :meth:`stop`, when not given).
    """

    def __init__(
        self,
        mirrors: Path,
        *,
        workdir: Path | None = None,
        startup_timeout: float = 30.0,
        python: str | None = None,
    ) -> None:
        self.mirrors = Path(mirrors).resolve()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.startup_timeout = startup_timeout
        self.python = python or sys.executable
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._finalizer = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("HubServer is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "olah.out"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def start(self) -> "HubServer":
        if self._proc is not None:
            raise RuntimeError("HubServer already started")
        if self.python == sys.executable and importlib.util.find_spec("olah") is None:
            raise RuntimeError("olah is not installed: pip install -e '.[dev]' (or pip install olah)")
        if shutil.which("git") is None:
            raise RuntimeError("olah serves git repos and needs the git executable on PATH")
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="olah-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.mirrors.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(3):  # a free port can be taken between probing and binding
            try:
                self._launch(_free_port())
                return self
            except _PortInUse as exc:
                last_error = str(exc)
        raise RuntimeError(last_error)

    def _launch(self, port: int) -> None:
        config = self.workdir / "olah.toml"
        config.write_text(
            "[basic]\n"
            'host = "127.0.0.1"\n'
            f"port = {port}\n"
            f"repos-path = {_toml_str(self.workdir / 'repos')}\n"
            f"mirrors-path = [{_toml_str(self.mirrors)}]\n"
            "\n[accessibility]\n"
            "offline = true\n",
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self._log = open(self.log_path, "wb")
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "olah.server", "--config", str(config),
                 "--log-path", str(self.workdir / "logs")],
                cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=subprocess.STDOUT,
            )
        except OSError:
            self._cleanup_process()
            raise
        self._proc, self.port = proc, port
        self._finalizer = weakref.finalize(self, _terminate, proc)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if proc.poll() is not None:
                log = self.log_text()
                self._cleanup_process()
                if "address already in use" in log.lower():
                    raise _PortInUse(f"olah could not bind port {port}:\n{log[-3000:]}")
                raise RuntimeError(f"olah exited with code {proc.returncode} on start:\n{log[-3000:]}")
            if _answers(f"http://127.0.0.1:{port}/"):
                return
            if time.monotonic() > deadline:
                log = self.log_text()
                self._cleanup_process()
                raise RuntimeError(
                    f"olah did not answer on port {port} within {self.startup_timeout:.0f}s:\n{log[-3000:]}"
                )
            time.sleep(0.05)

    def _cleanup_process(self) -> None:
        if self._proc is not None:
            _terminate(self._proc)
            if self._finalizer is not None:
                self._finalizer.detach()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Terminate olah (idempotent); its port refuses connections afterwards."""
        self._cleanup_process()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> "HubServer":
        return self.start() if self._proc is None else self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _PortInUse(RuntimeError):
    pass


def _toml_str(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


def start_hub(mirrors: Path, **kwargs) -> HubServer:
    """Start a :class:`HubServer` for ``mirrors`` and return it (stop it, or use ``with``)."""
    return HubServer(mirrors, **kwargs).start()


def use_hub(monkeypatch, endpoint: str | None, home: Path, *, offline: bool = False) -> None:
    """Point huggingface_hub at ``endpoint`` with its cache under ``home``, for one test.

    Sets the environment variables (for subprocesses and late importers) and patches
    the copies ``huggingface_hub.constants`` took at import, which is what the library
    actually consults. ``endpoint=None`` leaves the endpoint alone; ``offline=True``
    is ``HF_HUB_OFFLINE=1``: every request raises, only the cache answers.
    """
    from huggingface_hub import constants

    home = Path(home)
    cache = home / "hub"
    values = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(cache),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_TOKEN_PATH": str(home / "token"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
        monkeypatch.setattr(constants, name, value)
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HUGGINGFACE_ASSETS_CACHE", str(home / "assets"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    if endpoint is not None:
        endpoint = endpoint.rstrip("/")
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)
        monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        )
