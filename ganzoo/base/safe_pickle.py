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

Dtypes are plain ones only (booleans, integers, floats, complex numbers, strings): no structured
dtypes, no subarrays, no objects. Pickle's BUILD opcode hands a dtype whatever state the file
holds, and numpy's ``dtype.__setstate__`` does not check field offsets, so a structured dtype with
a field at offset 10**9 would load and then read far outside its array when used. The unpickler
therefore checks every dtype's state before numpy sees it, and every array in the result again.
Python 2 pickles are read with ``encoding="latin1"``, which is how their byte strings (numpy
buffers included) decode losslessly.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path
from typing import Any

from ganzoo.base.errors import DataError

__all__ = ["UnsafePickleError", "load", "loads"]

ACCEPTED = ("numpy arrays, numpy scalars and dtypes, lists, tuples, dicts, strings, bytes, "
            "numbers, None and booleans")
PLAIN_KINDS = "biufcSU"  # numpy dtype kinds admitted: bool, int, uint, float, complex, bytes, str
PICKLE_LIMIT = 8 << 30  # bytes; CUB's embeddings pickle, the largest known, is ~360 MB


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
    allowed[("numpy", "dtype")] = _plain_dtype
    return allowed


class _NotPlain(pickle.UnpicklingError):
    """Data the unpickler refuses to build (a hostile dtype, BUILD on a non-array)."""


def _plain_dtype(spec: Any, align: Any = False, copy: Any = True) -> Any:
    """``numpy.dtype`` restricted to a type string naming a plain dtype (``"<f4"``, ``"i8"``)."""
    import numpy as np

    if not isinstance(spec, str):
        raise _NotPlain(f"a dtype built from a {type(spec).__name__}")
    dtype = np.dtype(spec, bool(align), bool(copy))
    if dtype.kind not in PLAIN_KINDS:
        raise _NotPlain(f"the dtype {spec!r}")
    return dtype


def _check_dtype_state(state: Any) -> None:
    """The BUILD state of a plain dtype: ``(version, byteorder, None, None, None, ...)``."""
    if (not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4)
            or state[1] not in ("<", ">", "|", "=")
            or any(part is not None for part in state[2:5])):
        raise _NotPlain("a dtype with fields, subarrays or an unknown state layout")


def _check_arrays(obj: Any) -> None:
    """Walk the result (iteratively: it may nest deeply) and refuse any non-plain numpy dtype."""
    import numpy as np

    stack, seen = [obj], set()
    while stack:
        item = stack.pop()
        if isinstance(item, (np.ndarray, np.generic, np.dtype)):
            dtype = item if isinstance(item, np.dtype) else item.dtype
            if dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.subdtype:
                raise _NotPlain(f"an array of dtype {dtype}")
        elif isinstance(item, (list, tuple, dict, set, frozenset)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.items() if isinstance(item, dict) else item)


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler, so that BUILD can be checked before a dtype receives state."""

    dispatch = dict(pickle._Unpickler.dispatch)

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

    def load_build(self) -> None:
        import numpy as np

        inst = self.stack[-2]
        if isinstance(inst, np.dtype):
            _check_dtype_state(self.stack[-1])
        elif not isinstance(inst, np.ndarray):  # BUILD on anything else would set attributes
            raise _NotPlain(f"state for a {type(inst).__name__} (BUILD is only admitted for "
                            "numpy arrays and dtypes)")
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refused a persistent id ({pid!r}) in a data "
                                f"pickle; only {ACCEPTED} are accepted",
                                source=self._source, module="", name="persistent_load")


def loads(data: bytes, *, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` admitting only plain data (see the module docstring)."""
    try:
        result = _RestrictedUnpickler(io.BytesIO(data), source=source).load()
        _check_arrays(result)
        return result
    except UnsafePickleError:
        raise
    except _NotPlain as exc:
        raise DataError(f"{source}: refused {exc}: only plain dtypes (bool, int, float, complex, "
                        f"bytes, str) are admitted in a data pickle") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, UnicodeDecodeError, RecursionError,
            struct.error) as exc:
        raise DataError(f"{source}: not a readable data pickle (truncated or corrupt?): "
                        f"{type(exc).__name__}: {exc}") from None


def load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` admitting only plain data; errors name the file."""
    from ganzoo.base.io import read_bytes_limited

    path = Path(path)
    try:
        data = read_bytes_limited(path, error=DataError, limit=PICKLE_LIMIT)
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return loads(data, source=str(path))
