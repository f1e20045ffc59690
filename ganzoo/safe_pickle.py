"""Reading data pickles without letting them run code.

Some datasets are only published as pickles (StackGAN's CUB release: ``char-CNN-RNN-embeddings
.pickle``, ``filenames.pickle``, ``class_info.pickle``, written by Python 2). ``pickle.load`` would
call any function the file names, so :func:`load` uses an unpickler that admits only plain data:

- lists, tuples, dicts, strings, bytes, numbers, ``None`` and booleans (built by pickle opcodes,
  no global needed);
- numpy arrays, numpy scalars and dtypes (``numpy.core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype``, ``numpy.core.multiarray.scalar``,
  ``numpy.core.numeric._frombuffer``, also under numpy 2's ``numpy._core`` names);
- ``_codecs.encode(text, "latin1")``, which Python 3 writes for ``bytes`` in protocol 2 pickles.

Any other global (``os.system``, ``builtins.eval``, a class of some package ...) is refused with
:class:`UnsafePickleError`, naming the file and the refused global, before it is ever called.
Python 2 pickles are read with ``encoding="latin1"``, which is how their byte strings (numpy
buffers included) decode losslessly.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from .errors import DataError

__all__ = ["UnsafePickleError", "load", "loads"]

ACCEPTED = ("numpy arrays, numpy scalars and dtypes, lists, tuples, dicts, strings, bytes, "
            "numbers, None and booleans")


class UnsafePickleError(DataError):
    """A pickle names a global (a function or class) that a data file has no business calling."""

    def __init__(self, message: str, *, source: str, module: str, name: str):
        super().__init__(message)
        self.source = source
        self.module = module
        self.name = name


def _latin1_encode(text: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` restricted to what Python 3 writes for bytes: a str in latin-1."""
    if not isinstance(text, str) or encoding.lower().replace("_", "-") not in ("latin1",
                                                                              "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is only admitted for text in latin-1, got "
                                     f"{type(text).__name__} in {encoding!r}")
    return text.encode("latin-1", errors)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    import numpy as np

    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
    scalar = np.float32(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5's out-of-band-capable form
    allowed: dict[tuple[str, str], Any] = {("_codecs", "encode"): _latin1_encode}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, *, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"{self._source}: refused to unpickle the global {module}.{name}: this file "
                f"could run code when loaded. Only {ACCEPTED} are accepted in a data pickle",
                source=self._source, module=module, name=name)
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refused a persistent id ({pid!r}) in a data "
                                f"pickle; only {ACCEPTED} are accepted",
                                source=self._source, module="", name="persistent_load")


def loads(data: bytes, *, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` admitting only plain data (see the module docstring)."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source=source).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: not a readable data pickle (truncated or corrupt?): "
                        f"{type(exc).__name__}: {exc}") from None


def load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` admitting only plain data; errors name the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return loads(data, source=str(path))
