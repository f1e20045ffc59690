"""ganzoo.base.safe_pickle: data pickles are read as data, and a pickle that would run code runs nothing."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from cub_fixtures import py2_pickle_of_strings

from ganzoo import DataError

import ganzoo.base.safe_pickle as safe_pickle
from ganzoo.base.safe_pickle import UnsafePickleError


class _CreatesFile:
    """Unpickling this calls ``builtins.open(path, "w")``: it would create the file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


class _RunsShell:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_plain_data_and_numpy_arrays_come_back_at_every_protocol(protocol):
    array = np.arange(2 * 10 * 4, dtype=np.float32).reshape(2, 10, 4)
    data = {"embeddings": array, "names": ["001.Albatross/a_1", "b"], "classes": [1, 2],
            "misc": (None, True, 2.5, -3, b"bytes", np.float64(0.25), np.dtype("int16"))}
    loaded = safe_pickle.loads(pickle.dumps(data, protocol=protocol))
    assert loaded["embeddings"].dtype == np.float32
    assert np.array_equal(loaded["embeddings"], array)
    assert loaded["names"] == data["names"] and loaded["classes"] == [1, 2]
    assert loaded["misc"] == data["misc"]


def test_python2_byte_strings_are_read_as_latin1_text(tmp_path):
    path = tmp_path / "filenames.pickle"
    path.write_bytes(py2_pickle_of_strings(["002.Laysan_Albatross/x_1", "caf\xe9"]))
    assert safe_pickle.load(path) == ["002.Laysan_Albatross/x_1", "caf\xe9"]


@pytest.mark.parametrize("payload", [_CreatesFile, _RunsShell])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(payload, protocol, tmp_path):
    victim = tmp_path / "created-by-the-pickle"
    source = tmp_path / "char-CNN-RNN-embeddings.pickle"
    # The payload hides inside ordinary data, as it would in a tampered dataset file.
    source.write_bytes(pickle.dumps({"embeddings": [np.zeros(3), payload(victim)]},
                                    protocol=protocol))
    with pytest.raises(UnsafePickleError) as info:
        safe_pickle.load(source)
    message = str(info.value)
    assert message.startswith(f"{source}: refused to unpickle the global ")
    assert "open:" in message or "system:" in message, message
    assert "numpy arrays" in message  # says what is accepted
    assert isinstance(info.value, DataError)
    assert not victim.exists()


@pytest.mark.parametrize("global_name", [b"builtins\neval", b"subprocess\nPopen",
                                         b"numpy\nload", b"copyreg\n_reconstructor"])
def test_every_other_global_is_refused_by_name(global_name):
    module, name = global_name.decode().split("\n")
    data = b"\x80\x02c" + global_name + b"\n."  # PROTO 2, GLOBAL module name, STOP
    with pytest.raises(UnsafePickleError, match=f"the global {module}.{name}:"):
        safe_pickle.loads(data, source="evil.pickle")


def test_codecs_encode_is_admitted_only_for_latin1_text():
    assert safe_pickle.loads(pickle.dumps(b"\x00\xff", protocol=2)) == b"\x00\xff"
    rogue = (b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00aX\x04\x00\x00\x00zlibq\x01"
             b"\x86q\x02Rq\x03.")  # _codecs.encode("a", "zlib")
    with pytest.raises(DataError, match="only admitted for text in latin-1"):
        safe_pickle.loads(rogue, source="rogue.pickle")


def test_truncated_or_missing_files_are_one_line_naming_the_file(tmp_path):
    path = tmp_path / "filenames.pickle"
    path.write_bytes(pickle.dumps(["a", "b", "c"], protocol=2)[:-4])
    with pytest.raises(DataError, match=f"{path}: not a readable data pickle"):
        safe_pickle.load(path)
    with pytest.raises(DataError, match="missing"):
        safe_pickle.load(tmp_path / "nothing.pickle")


# -- dtypes: a pickle of allowed globals only must still not read outside its buffer ------------

_HOSTILE_DTYPES = {
    # pickle's BUILD hands this state to dtype.__setstate__, which does not check the offsets
    "structured, field at offset 10**9": (
        ("V16", False, True),
        (3, "|", None, ("a", "b"), {"a": ("f8", 0), "b": ("f8", 10**9)}, 16, 1, 16)),
    "subarray": (("V16", False, True), (3, "|", ("f8", (2,)), None, None, 16, 8, 0)),
    "object": (("O8", False, True), (3, "|", None, None, None, -1, -1, 63)),
}

_MAKE_HOSTILE = '''
import pickle, sys
import numpy as np

class Dtype:
    def __init__(self, args, state):
        self.args, self.state = args, state
    def __reduce__(self):
        state = self.state
        if state[3] is not None:  # field dtypes are themselves plain dtypes in the file
            state = (*state[:4], {k: (np.dtype(t), o) for k, (t, o) in state[4].items()},
                     *state[5:])
        if state[2] is not None:
            state = (*state[:2], (np.dtype(state[2][0]), state[2][1]), *state[3:])
        return (np.dtype, self.args, state)

class Array:
    def __init__(self, dtype):
        self.dtype = dtype
    def __reduce__(self):
        reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
        return (reconstruct, (np.ndarray, (0,), b"b"), (1, (3,), self.dtype, False, b"\\0" * 48))

args, state = eval(sys.argv[2])
with open(sys.argv[1], "wb") as fh:
    pickle.dump({"classes": Array(Dtype(args, state))}, fh, protocol=2)
'''

_READ_LIKE_CUB = '''
import sys
import numpy as np
from ganzoo import GanzooError
import ganzoo.base.safe_pickle as safe_pickle
try:
    data = safe_pickle.load(sys.argv[1])
    print([int(c) for c in np.asarray(data["classes"]).reshape(-1)])  # what cub.py does
except GanzooError as exc:
    print(f"ganzoo: {exc}", file=sys.stderr)
    sys.exit(1)
'''


@pytest.mark.parametrize("case", sorted(_HOSTILE_DTYPES))
def test_a_pickle_of_allowed_globals_with_a_hostile_dtype_is_one_line_not_a_crash(case, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "class_info.pickle"
    subprocess.run([sys.executable, "-c", _MAKE_HOSTILE, str(path), repr(_HOSTILE_DTYPES[case])],
                   check=True)
    # A subprocess: an out-of-bounds read is exit -11 there, a failed test here.
    proc = subprocess.run([sys.executable, "-c", _READ_LIKE_CUB, str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ganzoo: {path}: "), proc.stderr
    assert "plain dtype" in lines[0], lines[0]


def test_plain_dtypes_of_every_admitted_kind_still_load():
    values = [np.array([True]), np.arange(3, dtype=np.int16), np.arange(3, dtype=np.uint8),
              np.ones(2, np.float16), np.ones(2, np.complex64), np.array([b"ab"]),
              np.array(["caf\xe9"])]
    for protocol in (2, 5):
        loaded = safe_pickle.loads(pickle.dumps(values, protocol=protocol))
        for got, want in zip(loaded, values):
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_build_is_admitted_only_for_arrays_and_dtypes():
    # PROTO 2, GLOBAL _codecs encode, EMPTY_DICT, BUILD: would set attributes on the function
    data = b"\x80\x02c_codecs\nencode\n}b."
    with pytest.raises(DataError, match="refused state for a function"):
        safe_pickle.loads(data, source="evil.pickle")
