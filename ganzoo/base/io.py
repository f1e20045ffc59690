"""Atomic file writes: a reader never sees half a file, and a failed write keeps the old one."""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ganzoo.base.errors import GanzooError, WriteError

MIB = 1 << 20
TEXT_LIMIT = 16 * MIB  # recipes, JSON indexes and records: far above any real one


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

# The run directory a locked run writes into (set by ganzoo.training.rundir.locked): writes
# inside it never re-create it, so a run whose folder was moved or deleted stops with one line
# instead of training on into a half-made folder that neither loads nor resumes.
RUN_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("RUN_ROOT", default=None)

# mkstemp's names: ".NAME." + 8 random characters + ".tmp"
TEMP_NAME = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


def _make_parent(path: Path) -> None:
    root = RUN_ROOT.get()
    absolute = Path(os.path.abspath(path))
    if root is not None and (root == absolute.parent or root in absolute.parents):
        if not root.is_dir():
            raise WriteError(f"{path}: the run directory {root} is gone (moved or removed while "
                             "the run trained?); nothing was written")
        absolute.parent.mkdir(parents=True, exist_ok=True)  # below the root only: it exists
        return
    path.parent.mkdir(parents=True, exist_ok=True)


def _failure(exc: BaseException) -> str | None:
    """The one-line reason of a failed write, or None for errors that are not about writing.

    safetensors raises its own ``SafetensorError`` (not an ``OSError``) for a full disk."""
    if isinstance(exc, OSError):
        return str(exc.strerror or exc)
    if type(exc).__name__ == "SafetensorError":
        text = str(exc)
        match = re.search(r'message: "([^"]+)"', text) or re.search(r"kind: (\w+)", text)
        return match.group(1) if match else text.splitlines()[0][:200]
    return None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    On any error the temporary file is removed and ``path`` is left as it was; a write error
    (``OSError``, safetensors' ``SafetensorError``) becomes a one-line :class:`WriteError`. The
    file gets mode 0666 minus the umask, as ``open`` would give it.
    """
    path = Path(path)
    try:
        _make_parent(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # After the write: safetensors replaces the prepared file with one of mode 0600.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        reason = _failure(exc)
        if reason is not None:
            kept = "the previous file is intact" if path.exists() else "nothing was written"
            raise WriteError(f"{path}: write failed ({reason}); {kept}") from None
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the ``.NAME.XXXXXXXX.tmp`` files a killed write left under ``folder``.

    Call it only while holding the folder's run lock: then no other writer owns them."""
    removed = []
    for tmp in folder.glob("**/.*.tmp"):  # glob does not follow symlinked folders out of it
        if TEMP_NAME.fullmatch(tmp.name) and tmp.is_file() and not tmp.is_symlink():
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def check_regular_file(path: str | Path, *, error: type[GanzooError] = GanzooError,
                       limit: int | None = None) -> int:
    """The size of ``path`` if it is a regular file (symlinks followed) of at most ``limit``
    bytes; ``FileNotFoundError`` if it does not exist; ``error`` naming the file otherwise.

    Reading a FIFO blocks forever and ``/dev/zero`` never ends: check before opening.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: is {_kind(info.st_mode)}, not a regular file; ganzoo reads only "
                    "regular files")
    if limit is not None and info.st_size > limit:
        raise error(f"{path}: {info.st_size / MIB:.1f} MiB, larger than the {limit / MIB:.0f} MiB "
                    "a file of this kind may be")
    return info.st_size


def read_bytes_limited(path: str | Path, *, error: type[GanzooError] = GanzooError,
                       limit: int = TEXT_LIMIT) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`check_regular_file`).

    Opened non-blocking, so a FIFO swapped in after the check cannot hang the read either.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: is {_kind(info.st_mode)}, not a regular file; ganzoo reads "
                        "only regular files")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: larger than the {limit / MIB:.0f} MiB a file of this kind may be")
    return data


def read_text_limited(path: str | Path, *, error: type[GanzooError] = GanzooError,
                      limit: int = TEXT_LIMIT) -> str:
    """UTF-8 text of a regular file of at most ``limit`` bytes; ``UnicodeDecodeError`` passes."""
    return read_bytes_limited(path, error=error, limit=limit).decode("utf-8")


def read_json(path: str | Path, *, missing: str) -> Any:
    """Parse a JSON file; a missing or unreadable file is a one-line ``CheckpointError``.

    ``missing`` is the message for a file that does not exist (after ``"<folder>: "``). Only
    regular files up to 16 MiB are read; JSON nested too deep to parse is refused too.
    """
    from ganzoo.base.errors import CheckpointError

    path = Path(path)
    try:
        return json.loads(read_text_limited(path, error=CheckpointError))
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: {missing}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: unreadable: JSON nested too deeply") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable: {exc}") from None


def atomic_write_with(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
