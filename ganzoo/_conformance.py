"""The conformance checks of each model kind (re-exported by :mod:`ganzoo.testing`).

Each check is a named function of the model that raises ``AssertionError`` (or any error) when
the model breaks a promise of its kind; :func:`check_kind` runs every check that applies, each
on its own, so one failure does not hide the rest. Models are checked in eval mode, without
gradients, on small seeded inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import torch

from ganzoo.nn.kinds import (
    ConditionalGenerator,
    ContinuousInput,
    DiscreteInput,
    LatentGenerator,
    Translator,
    kind_of,
)
from ganzoo.nn.model import GANModel

Check = Callable[[GANModel], None]


@attrs.frozen
class CheckResult:
    """One check's outcome: ``message`` is empty when it passed."""

    name: str
    passed: bool
    message: str = ""


# -- latent generators ---------------------------------------------------------------------------
def _sample_latent_shape(model: LatentGenerator) -> None:
    z = model.sample_latent(3, seed=0)
    assert z.shape[0] == 3 and z[0].numel() == model.z_dim, (
        f"sample_latent(3) has shape {tuple(z.shape)}; expected 3 rows of z_dim = {model.z_dim}")


def _sample_latent_seeded(model: LatentGenerator) -> None:
    first, again = model.sample_latent(2, seed=5), model.sample_latent(2, seed=5)
    assert torch.equal(first, again), "sample_latent(seed=5) differs between two calls"
    assert not torch.equal(first, model.sample_latent(2, seed=6)), (
        "sample_latent gives the same latents for seeds 5 and 6")


def _generate_shape(model: LatentGenerator) -> None:
    images = model.generate(2, seed=0)
    assert images.dim() == 4 and len(images) == 2, (
        f"generate(2) has shape {tuple(images.shape)}; expected [2, C, H, W]")
    assert images.min() >= -1 and images.max() <= 1, "generate(2) is outside [-1, 1]"


def _generate_seeded(model: LatentGenerator) -> None:
    assert torch.equal(model.generate(2, seed=1), model.generate(2, seed=1)), (
        "generate(2, seed=1) differs between two calls")


def _generate_honours_z(model: LatentGenerator) -> None:
    z, other = model.sample_latent(2, seed=3), model.sample_latent(2, seed=4)
    given = model.generate(2, z=z, seed=0)
    assert torch.equal(given, model.generate(2, z=z, seed=0)), "generate(z=z) is not repeatable"
    assert not torch.equal(given, model.generate(2, z=other, seed=0)), (
        "generate(2, z=...) draws the same images for two different z: it ignores z")
    flat = model.generate(2, z=z.reshape(2, -1), seed=0)
    assert torch.allclose(given, flat), "generate(z=) refuses z as [n, z_dim]"


def _inputs_accepted(model: LatentGenerator) -> None:
    for declared in model.inputs():
        if isinstance(declared, DiscreteInput):
            values = [torch.zeros(2, dtype=torch.long), torch.full((2,), declared.count - 1)]
        else:
            assert isinstance(declared, ContinuousInput), f"{declared!r} is no ModelInput"
            values = [torch.full((2, declared.size), declared.low),
                      torch.full((2, declared.size), declared.high)]
        z = model.sample_latent(2, seed=0)
        low, high = (model.generate(2, z=z, **{declared.name: v.to(model.device)})
                     for v in values)
        assert low.shape == high.shape and len(low) == 2, (
            f"generate({declared.name}=...) has shape {tuple(low.shape)}")
        assert not torch.equal(low, high), (
            f"declared input {declared.name!r} does not change the images")


def _num_classes(model: ConditionalGenerator) -> None:
    labels = [i for i in model.inputs() if i.name == "labels"]
    assert labels and labels[0].count == model.num_classes, (
        "a ConditionalGenerator declares a 'labels' input with num_classes values")


# -- translators ---------------------------------------------------------------------------------
def _directions(model: Translator) -> None:
    assert model.directions and all(isinstance(d, str) for d in model.directions), (
        f"directions is {model.directions!r}; expected a non-empty tuple of names")
    for direction in model.directions:
        assert isinstance(model.generator(direction), torch.nn.Module), (
            f"generator({direction!r}) is not a network")


def _translate_keeps_size(model: Translator) -> None:
    side = max(model.multiple, model.min_side)
    height, width = side + 3, 2 * side + 1  # not multiples: translate pads and crops
    for direction in model.directions:
        source, target = model.channels(direction)
        x = torch.rand(2, source, height, width, generator=torch.Generator().manual_seed(0))
        out = model.translate(x * 2 - 1, direction=direction)
        assert tuple(out.shape) == (2, target, height, width), (
            f"translate({direction!r}) of [2, {source}, {height}, {width}] gives "
            f"{list(out.shape)}; expected [2, {target}, {height}, {width}]")
        assert out.min() >= -1 and out.max() <= 1, f"translate({direction!r}) outside [-1, 1]"


def _translate_default_direction(model: Translator) -> None:
    source = model.channels(model.directions[0])[0]
    x = torch.rand(1, source, model.multiple * 2, model.multiple * 2) * 2 - 1
    assert torch.equal(model.translate(x), model.translate(x, direction=model.directions[0])), (
        "translate(images) differs from translate(images, direction=directions[0])")


LATENT: dict[str, Check] = {
    "sample-latent-shape": _sample_latent_shape,
    "sample-latent-seeded": _sample_latent_seeded,
    "generate-shape": _generate_shape,
    "generate-seeded": _generate_seeded,
    "generate-honours-z": _generate_honours_z,
    "inputs-accepted": _inputs_accepted,
}
TRANSLATOR: dict[str, Check] = {
    "directions": _directions,
    "translate-keeps-size": _translate_keeps_size,
    "translate-default-direction": _translate_default_direction,
}


def kind_checks(model: GANModel) -> dict[str, Check]:
    """The named checks of ``model``'s kind, in order (none for a model of no kind).

    Text-to-image models get the latent checks that need no caption (``sample_latent``); their
    ``generate`` needs captions a tiny model knows, which the architecture's own tests give."""
    if isinstance(model, ConditionalGenerator):
        return {**LATENT, "num-classes": _num_classes}
    if isinstance(model, LatentGenerator) and kind_of(model) == "text-to-image":
        return {k: v for k, v in LATENT.items() if k.startswith("sample-latent")}
    if isinstance(model, LatentGenerator):
        return dict(LATENT)
    if isinstance(model, Translator):
        return dict(TRANSLATOR)
    return {}


def check_kind(model: GANModel) -> list[CheckResult]:
    """Run every check of ``model``'s kind, each on its own; the model is put back in the mode
    it was in."""
    was_training = model.training
    model.eval()
    results = []
    try:
        for name, check in kind_checks(model).items():
            try:
                with torch.no_grad():
                    check(model)
            except Exception as exc:  # noqa: BLE001 - any error fails this check only
                # the first line: pytest's assertion rewriting appends the failed expression
                message = (str(exc) or type(exc).__name__).splitlines()[0]
                results.append(CheckResult(name, False, f"{type(exc).__name__}: {message}"
                                           if not isinstance(exc, AssertionError) else message))
            else:
                results.append(CheckResult(name, True))
    finally:
        model.train(was_training)
    return results


def assert_kind(model: GANModel) -> None:
    """An ``AssertionError`` listing every failed check of ``model``'s kind by name."""
    failed = [r for r in check_kind(model) if not r.passed]
    if failed:
        lines = "\n".join(f"  {r.name}: {r.message}" for r in failed)
        raise AssertionError(f"{model.architecture} ({kind_of(model)}) breaks "
                             f"{len(failed)} promise(s) of its kind:\n{lines}")
