"""Third-party checkpoints: URL + converter, downloaded once over HTTP, unpickled safely."""

from __future__ import annotations

import hashlib
import http.server
import pickle
import threading
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo import CheckpointError
from ganzoo.hub.convert import convert_file, read_state_dict

CONVERTER = '''
import ganzoo

def convert(state):
    """pytorch/examples' DCGAN netG (``main.N.*``) -> ganzoo's dcgan."""
    z_dim, width = state["main.0.weight"].shape[:2]
    model = ganzoo.create("dcgan", resolution=16, channels=1, z_dim=z_dim,
                          gen_width=width // 2, disc_width=4)
    model.gen.load_state_dict({k.removeprefix("main."): v for k, v in state.items()}, strict=True)
    return model
'''


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A loopback HTTP server for tmp_path/www; converters importable from tmp_path."""
    www = tmp_path / "www"
    www.mkdir()
    (tmp_path / "ref_convert.py").write_text(CONVERTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.www = www
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def reference(served):
    """A generator in the reference code's key layout, saved as a .pth the server offers."""
    torch.manual_seed(0)
    model = ganzoo.create("dcgan", resolution=16, channels=1, z_dim=8, gen_width=4, disc_width=4)
    path = served.www / "netG.pth"
    torch.save({f"main.{k}": v for k, v in model.gen.state_dict().items()}, path)
    return model.eval(), hashlib.sha256(path.read_bytes()).hexdigest()


def register(plugins, **fields):
    class Weights:
        @ganzoo.hookimpl
        def register_weights(self, registry):
            registry.add(architecture="dcgan", converter="ref_convert:convert", **fields)

    plugins.register_plugin(Weights(), f"weights-{fields['name']}")


def test_download_convert_cache(served, reference, ganzoo_plugins):
    model, sha = reference
    register(ganzoo_plugins, name="official", url=f"{served.url}/netG.pth", sha256=sha)
    loaded = ganzoo.load("official")
    z = torch.randn(3, 8, 1, 1, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(loaded.generate(3, z=z), model.generate(3, z=z), atol=1e-6)
    cached = Path(loaded.bundle_folder)
    assert (cached / "gen" / "model.safetensors").is_file() and not list(cached.rglob("*.pth"))
    served.shutdown()  # the second load needs no server
    with torch.no_grad():
        assert torch.equal(ganzoo.load("official").generate(3, z=z), loaded.generate(3, z=z))


def test_checksum_and_download_errors(served, reference, ganzoo_plugins):
    register(ganzoo_plugins, name="tampered", url=f"{served.url}/netG.pth", sha256="0" * 64)
    with pytest.raises(CheckpointError, match="sha256 is [0-9a-f]{64}, expected 0000"):
        ganzoo.load("tampered")
    register(ganzoo_plugins, name="gone", url=f"{served.url}/missing.pth")
    with pytest.raises(CheckpointError, match="missing.pth: download failed"):
        ganzoo.load("gone")


class Payload:
    """Unpickling this would create a file: the attack a weights_only load must stop."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (self.target, "pwned"))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(served, tmp_path,
                                                                  ganzoo_plugins):
    target = tmp_path / "created-by-payload"
    path = served.www / "evil.pth"
    path.write_bytes(pickle.dumps({"main.0.weight": Payload(target)}))
    with pytest.raises(CheckpointError, match="evil.pth: refused: not a plain PyTorch state dict"):
        read_state_dict(path)
    register(ganzoo_plugins, name="evil", url=f"{served.url}/evil.pth")
    with pytest.raises(CheckpointError, match="refused"):
        ganzoo.load("evil")
    with pytest.raises(CheckpointError, match="refused"):
        convert_file("ref_convert:convert", path, tmp_path / "out")
    assert not target.exists(), "the pickle's payload ran"


def test_convert_a_local_file(reference, served, tmp_path):
    model, _ = reference
    convert_file("ref_convert:convert", served.www / "netG.pth", tmp_path / "bundle")
    loaded = ganzoo.load(str(tmp_path / "bundle"))
    with torch.no_grad():
        assert torch.equal(loaded.generate(2, seed=0), model.generate(2, seed=0))


def test_registered_weights_need_a_source_or_a_url_with_converter(ganzoo_plugins):
    class Bad:
        @ganzoo.hookimpl
        def register_weights(self, registry):
            registry.add(name="nothing", architecture="dcgan")

    with pytest.raises(ganzoo.PluginError, match="give a source .* or a url with a converter"):
        ganzoo_plugins.register_plugin(Bad(), "bad-weights")
