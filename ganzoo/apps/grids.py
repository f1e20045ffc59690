"""Sample grids for any latent generator, from what its kind declares.

:func:`traversal` makes the figure of InfoGAN-style papers for any declared input of a
:class:`~ganzoo.LatentGenerator` (:meth:`~ganzoo.LatentGenerator.inputs`): each row keeps one z
(and one value of every other input), each column sets the varied input to the next value: a
:class:`~ganzoo.DiscreteInput` steps through its values ``0, 1, ...``, one value of a
:class:`~ganzoo.ContinuousInput` goes evenly from ``low`` to ``high``. No plugin code is needed:
``ganzoo sample MODEL --vary labels`` and ``--vary NAME`` use it.
"""

from __future__ import annotations

import attrs
import torch

from ganzoo.base.errors import GanzooError
from ganzoo.nn.kinds import ContinuousInput, DiscreteInput, LatentGenerator, describe

#: Columns of a continuous traversal unless asked otherwise.
DEFAULT_STEPS = 8
#: The most images one grid may hold (a file or flag asking for more is refused).
MAX_IMAGES = 4096


@attrs.frozen(kw_only=True)
class Grid:
    """Images ``[rows * columns, C, H, W]`` in [-1, 1], row by row, and the grid's ``nrow``
    (images per row, as :func:`ganzoo.base.images.save_grid` takes it)."""

    images: torch.Tensor
    nrow: int
    values: tuple[float, ...] = ()  # the varied input's value per column


def find_input(model: LatentGenerator, spec: str) -> tuple[DiscreteInput | ContinuousInput, int]:
    """The declared input named by ``spec`` (``NAME``, or ``NAME:INDEX`` for one value of a
    continuous input of several) and that index; a :class:`GanzooError` names what exists."""
    if not isinstance(model, LatentGenerator):
        raise GanzooError(f"{model.architecture} is {describe(model)}; traversal grids vary "
                          "the inputs of a latent generator")
    name, _, index_text = spec.partition(":")
    declared = {i.name: i for i in model.inputs()}
    if name not in declared:
        have = ", ".join(declared) if declared else "none besides z"
        raise GanzooError(f"{model.architecture} has no input named {name!r}; its declared "
                          f"inputs: {have}")
    found = declared[name]
    if isinstance(found, DiscreteInput):
        if index_text:
            raise GanzooError(f"{spec!r}: {name} is one discrete value per image; give --vary "
                              f"{name} without an index")
        return found, 0
    if not index_text:
        if found.size > 1:
            raise GanzooError(f"{name} has {found.size} values per image: vary one of them, "
                              f"e.g. --vary {name}:0 (indices 0 to {found.size - 1})")
        return found, 0
    if not index_text.isdigit() or not int(index_text) < found.size:
        raise GanzooError(f"{spec!r}: expected an index 0 to {found.size - 1} of {name}")
    return found, int(index_text)


def traversal(model: LatentGenerator, spec: str, *, rows: int = 4, steps: int | None = None,
              seed: int = 0) -> Grid:
    """``rows`` x ``steps`` images varying the input ``spec`` along each row (module docstring).

    ``steps``: columns (default: every value of a discrete input, :data:`DEFAULT_STEPS` for a
    continuous one). Every other declared input is held per row: a discrete one at a seeded
    random value, a continuous one at 0.
    """
    varied, index = find_input(model, spec)
    if isinstance(varied, DiscreteInput):
        steps = steps or varied.count
    steps = steps or DEFAULT_STEPS
    if rows < 1 or steps < 1 or rows * steps > MAX_IMAGES:
        raise GanzooError(f"{rows} rows x {steps} columns: expected 1 to {MAX_IMAGES} images")
    n = rows * steps
    rng = torch.Generator().manual_seed(seed)
    row_of = torch.arange(n) // steps
    column_of = torch.arange(n) % steps
    if isinstance(varied, DiscreteInput):
        values = tuple(float(c % varied.count) for c in range(steps))
    else:
        values = tuple(torch.linspace(varied.low, varied.high, steps).tolist())
    inputs = {}
    for declared in model.inputs():
        if isinstance(declared, DiscreteInput):
            held = torch.randint(0, declared.count, (rows,), generator=rng)[row_of]
            inputs[declared.name] = (column_of % declared.count if declared == varied else held
                                     ).to(model.device)
        else:
            value = torch.zeros(n, declared.size)
            if declared == varied:
                value[:, index] = torch.tensor(values)[column_of]
            inputs[declared.name] = value.to(model.device)
    z = model.sample_latent(rows, seed=seed)[row_of.to(model.device)]
    with torch.no_grad():
        images = model.generate(n, z=z, **inputs)
    return Grid(images=images, nrow=steps, values=values)
