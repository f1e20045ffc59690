"""The memory check's estimate: what torch's own meta kernels give, and cheap to compute."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import attrs
import cattrs
import pytest

import ganzoo.nn.meta_shapes
import ganzoo.plugin.manager as plugins
from ganzoo.nn import budget

ARCHITECTURES = plugins.registry("architectures").names()
VARIANTS = {"srgan": {"generator": "rrdb"}, "pix2pix": {"norm": "instance"}}


def configs(name):
    entry = plugins.registry("architectures").get(name)
    yield entry.config_cls()
    yield cattrs.structure(entry.tiny, entry.config_cls)
    if name in VARIANTS:
        yield attrs.evolve(entry.config_cls(), **VARIANTS[name])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_shapes_only_mode_changes_no_estimate(name, monkeypatch):
    import torch

    torch.manual_seed(0)
    before = torch.get_rng_state()
    fast = [budget.estimate(name, config) for config in configs(name)]
    assert torch.equal(torch.get_rng_state(), before)  # the caller's random stream is untouched
    monkeypatch.setattr(ganzoo.nn.meta_shapes, "ShapesOnly", contextlib.nullcontext)
    assert fast == [budget.estimate(name, config) for config in configs(name)]
    assert fast[0].activation_bytes > 0  # the preview did run: activations were counted


def test_a_cold_sample_imports_neither_dynamo_nor_torchvision(tmp_path):
    """Each costs seconds of a cold `ganzoo sample` (benchmarks/RESULTS.md, Start-up)."""
    script = ("import sys\nfrom ganzoo.apps.cli import main\n"
              f"sys.argv = ['ganzoo', 'sample', 'dcgan-digits', '-n', '16', '-o', "
              f"{str(tmp_path / 'grid.png')!r}]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in ('torch._dynamo', 'torchvision', "
              "'torch.fx.experimental.symbolic_shapes') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_a_config_too_large_is_still_refused_before_anything_is_built():
    entry = plugins.registry("architectures").get("dcgan")
    huge = attrs.evolve(entry.config_cls(), gen_width=1024, disc_width=1024)
    with pytest.raises(budget.TooLargeError, match="dcgan config needs about"):
        budget.check("dcgan", huge, source="huge.json", batch_size=10**6, training=True)
