"""Test helpers for plugin authors, loaded as a pytest plugin (``pytest11`` entry point).

```python
from ganzoo.testing import check_architecture

def test_my_architecture(tmp_path):
    check_architecture("my-gan", tmp_path)
```

:func:`check_architecture` builds the architecture at its ``tiny`` config, runs a forward/backward
training step on CPU, checks every method the model's kind promises (:func:`check_kind`: named
checks, each run even when another fails) and the weights round trip and the config reload.
This module stays cheap to import: pytest loads it in every session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest



def check_kind(model) -> list:
    """Run every named check of ``model``'s kind (:mod:`ganzoo._conformance`), each on its own:
    a list of ``CheckResult(name, passed, message)``."""
    from ganzoo._conformance import check_kind as run

    return run(model)


def assert_kind(model) -> None:
    """An ``AssertionError`` naming every check of ``model``'s kind that fails."""
    from ganzoo._conformance import assert_kind as run

    run(model)


def tiny_config(name: str, **overrides: Any) -> Any:
    """The architecture's config at its registered ``tiny`` overrides (and ``overrides``)."""
    import ganzoo.plugin.manager as plugins
    from ganzoo.config.structure import structure

    entry = plugins.registry("architectures").get(name)
    return structure({**entry.tiny, **overrides}, entry.config_cls, section="model")


def tiny_model(name: str, **overrides: Any):
    """A freshly built model of ``name`` at its tiny config, on CPU."""
    from ganzoo.hub.bundle import build_model

    return build_model(name, tiny_config(name, **overrides))


def train_steps(model, trainer: str, batch: dict, steps: int = 1, **train_overrides: Any) -> list:
    """Run ``steps`` of ``trainer``'s step function on ``batch``; returns each step's losses.

    As the loop does: the trainer's setup (with the batch's items as the training data), its
    optimizers, the check of the batch against ``model.example_batch(1)``, and before each
    step the ``[train] lr_schedule`` and ``freeze_disc_after``.
    In fp32 (``amp = "none"``) unless ``amp`` is given, so that a test's expected values do not
    depend on whether the machine has native bf16."""
    from types import SimpleNamespace

    import torch

    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref
    from ganzoo.config.structure import structure
    from ganzoo.config.train_config import TrainConfig
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import check_first_batch, prepare

    entry = plugins.registry("trainers").get(trainer)
    cfg = structure({"device": "cpu", "amp": "none", **train_overrides},
                    entry.config_cls or TrainConfig, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    opt = SimpleNamespace(**prepare(entry, model, cfg, ctx, items_of(batch)))
    check_first_batch(model, batch, where="train_steps")
    step = load_ref(entry.step)
    history = []
    model.train()
    for i in range(steps):
        ctx.begin_step(i)
        history.append({k: float(v) for k, v in step(batch, model, opt, ctx).items()})
    return history


def items_of(batch: dict) -> list[dict]:
    """The items of a collated ``batch`` (tensors split along the first dimension, lists by
    index): a training "dataset" for a trainer's setup."""
    n = len(next(iter(batch.values())))
    return [{k: v[i] for k, v in batch.items()} for i in range(n)]


def check_architecture(name: str, tmp_path: Path, **overrides: Any) -> None:
    """Assert the contract every registered architecture must meet (see the module docstring).

    ``overrides`` change the tiny config, to check variants (``discriminator="projection"``).
    """
    import attrs
    import torch

    import ganzoo.plugin.manager as plugins
    from ganzoo.nn.model import GANModel
    from ganzoo.hub.bundle import state_tensors

    entry = plugins.registry("architectures").get(name)
    assert attrs.has(entry.config_cls), f"{name}: config_cls must be an attrs class"
    torch.manual_seed(0)
    model = tiny_model(name, **overrides)
    assert isinstance(model, GANModel), f"{name}: build must return a ganzoo.GANModel"
    assert model.architecture == name, f"{name}: model.architecture is {model.architecture!r}"
    for component in model.components:
        assert isinstance(getattr(model, component), torch.nn.Module), component

    # One training step on CPU: finite losses, and every network's weights move.
    batch = model.example_batch(2, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in state_tensors(model).items()}
    losses = train_steps(model, entry.trainer, batch)[0]
    assert losses, f"{name}: the training step returned no losses to log"
    for key, value in losses.items():
        assert torch.isfinite(torch.tensor(value)), f"{name}: loss {key} is {value}"
    after = state_tensors(model)
    for component in model.components:
        prefix = f"{component}."
        moved = any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix))
        assert moved, f"{name}: the training step did not update {component}"

    # Everything the model's kind promises (generate(z=), sample_latent, translate ...).
    assert_kind(model)

    # Previews are reproducible for a seed, in [-1, 1].
    model.eval()
    held_out = model.example_batch(2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first = model.preview(2, seed=1, batch=held_out)
        second = model.preview(2, seed=1, batch=held_out)
    assert torch.equal(first, second), f"{name}: preview(seed=1) is not reproducible"
    assert first.min() >= -1 and first.max() <= 1, f"{name}: preview outside [-1, 1]"

    # Bundle round trip (all components): bit-exact tensors, config reloads as its attrs class.
    folder = tmp_path / f"{name}-bundle"
    model.save_pretrained(folder)
    assert (folder / "README.md").is_file(), f"{name}: save_pretrained wrote no model card"
    loaded = GANModel.from_pretrained(str(folder), components="all")
    assert type(loaded.config) is entry.config_cls and loaded.config == model.config
    reloaded = state_tensors(loaded)
    assert reloaded.keys() == after.keys()
    for key, value in after.items():
        assert torch.equal(value, reloaded[key]), f"{name}: {key} changed in the round trip"
    with torch.no_grad():
        assert torch.equal(loaded.preview(2, seed=1, batch=held_out), first), (
            f"{name}: the reloaded model draws different images")


@pytest.fixture
def ganzoo_plugins():
    """Fresh plugin state for the test; anything registered in it is forgotten afterwards."""
    import ganzoo.plugin.manager as plugins

    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture
def ganzoo_tiny_model():
    """Factory: ``ganzoo_tiny_model("dcgan")`` builds an architecture at its tiny config."""
    return tiny_model
