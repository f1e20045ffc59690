"""A source checkout works without ``pip install``: ganzoo's own plugins register themselves.

The subprocess sees the checkout and the third-party packages ganzoo needs, but no installed
ganzoo distribution, so no ``ganzoo`` entry points: exactly a fresh clone, or ``torch.hub.load``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib

from conftest import ROOT

from ganzoo.default_plugins import FIRST_PARTY


def site_without_ganzoo(folder):
    """Every installed package except ganzoo itself (its dist-info, editable finder, .pth)."""
    folder.mkdir()
    for path in [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]:
        for name in os.listdir(path):
            skip = (name.startswith(("ganzoo", "__editable__")) or name.endswith(".pth"))
            if not skip and not (folder / name).exists():
                (folder / name).symlink_to(os.path.join(path, name))
    return folder


def test_first_party_fallback_lists_the_same_plugins_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert FIRST_PARTY == project["project"]["entry-points"]["ganzoo"]


def test_a_checkout_without_pip_install_registers_every_architecture_and_torch_hub_works(
        tmp_path):
    site = site_without_ganzoo(tmp_path / "site")
    code = textwrap.dedent(f"""
        import importlib.metadata, json, sys
        import ganzoo
        import ganzoo.plugin.manager as plugins
        assert ganzoo.__file__.startswith({str(ROOT)!r}), ganzoo.__file__
        found = {{
            # At most the checkout's own build metadata (ganzoo.egg-info, which names the
            # plugins but does not put plugins/ on the path); no installed ganzoo.
            "metadata_in": sorted({{str(ep.dist.locate_file("")) for ep in
                                   importlib.metadata.entry_points(group="ganzoo")}}),
            "architectures": ganzoo.list_names("architectures"),
            "plugins": {{p.name: p.distribution for p in plugins.plugins() if not p.builtin}},
            "broken": [p.broken for p in plugins.broken()],
            "torch_before_use": "torch" in sys.modules,
        }}
        import torch
        model = torch.hub.load({str(ROOT)!r}, "dcgan_digits", source="local")
        found["hub"] = list(model.generate(2, seed=0).shape)
        print(json.dumps(found))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    env.pop("GANZOO_LOAD_PLUGINS", None)
    # -S: no site-packages (nor their .pth files) but the ones on PYTHONPATH.
    proc = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(found["metadata_in"]) <= {str(ROOT)}, "the subprocess sees an installed ganzoo"
    assert found["broken"] == []
    assert found["plugins"] == {name: "ganzoo" for name in FIRST_PARTY}
    assert {"dcgan", "cgan", "pix2pix", "cyclegan", "stackgan"} <= set(found["architectures"])
    assert found["torch_before_use"] is False
    assert found["hub"] == [2, 1, 32, 32]
