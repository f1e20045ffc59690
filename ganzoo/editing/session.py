"""The whole iGAN loop on one photo, as the CLI (``ganzoo edit brush``) and the demo page run it:
project the photo, edit on the manifold, morph to the best candidate, transfer onto the photo."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import torch
import torch.nn.functional as F

from ganzoo.editing.constraints import Constraints, EditError, from_strokes
from ganzoo.editing.manifold_edit import Candidates, EditSettings, check_generator, edit, errors, find_critic
from ganzoo.editing.morph import Morph, morph
from ganzoo.editing.transfer import transfer

#: Photos larger than this many pixels are refused (the transfer works at the photo's size).
MAX_PIXELS = 4096 * 4096


@attrs.frozen(kw_only=True)
class PhotoEdit:
    """One edit of a photo: its projection ``z0``/``projected``, the candidates, the morph to the
    chosen candidate and the transferred photo (``[C, H, W]``, the photo's size)."""

    photo: torch.Tensor
    z0: torch.Tensor
    projected: torch.Tensor
    candidates: Candidates
    morph: Morph
    transferred: torch.Tensor
    seconds: dict


def load_editable(name_or_path: str):
    """``(model, critic)``: the generator with its discriminator when the bundle ships one."""
    import ganzoo

    model = ganzoo.load(name_or_path, components="all")
    check_generator(model, str(name_or_path))
    return model, find_critic(model)


def read_photo(path, channels: int) -> torch.Tensor:
    """``[C, H, W]`` in [-1, 1], refusing images over :data:`MAX_PIXELS`."""
    from PIL import Image

    from ganzoo.base.images import as_batch

    try:
        with Image.open(path) as probe:
            width, height = probe.size
    except OSError as exc:
        raise EditError(f"{path}: cannot read the image: {exc}") from None
    if width * height > MAX_PIXELS:
        raise EditError(f"{path}: {width}x{height} is larger than the {MAX_PIXELS:,} pixels an "
                        "edit accepts; resize it first")
    return as_batch(str(path), channels=channels)[0]


def project_photo(model, photo: torch.Tensor, *, steps: int = 50, seed: int = 0):
    """``(z0, G(z0))`` of the photo resized to the generator's size (two L-BFGS starts)."""
    from ganzoo.editing.projection import project

    res = model.config.resolution
    small = F.interpolate(photo[None].float(), size=(res, res), mode="bilinear", antialias=True)
    result = project(model, small.clamp(-1, 1), method="optimise", steps=steps, restarts=2,
                     seed=seed)
    return result.z[0], result.images[0]


def run(model, photo: torch.Tensor, constraints: Constraints, *, z0: torch.Tensor | None = None,
        settings: EditSettings | None = None, critic=None, frames: int = 16,
        morph_method: str = "linear", choice: int = 0, project_steps: int = 50,
        seed: int = 0) -> PhotoEdit:
    """Edit ``photo`` ``[C, H, W]`` by ``constraints`` drawn at its size; ``z0`` skips the
    projection (e.g. a morph frame chosen as the new start)."""
    check_generator(model)
    if constraints.size != tuple(photo.shape[-2:]):
        h, w = constraints.size
        raise EditError(f"the strokes are {w}x{h} but the image is {photo.shape[-1]}x"
                        f"{photo.shape[-2]}; draw them on (or resize them to) the image")
    seconds = {}
    started = time.perf_counter()
    if z0 is None:
        z0, projected = project_photo(model, photo, steps=project_steps, seed=seed)
    else:
        with torch.no_grad():
            projected = model.generate(0, z=z0[None].to(model.device))[0]
    seconds["projection"] = time.perf_counter() - started
    candidates = edit(model, z0, constraints, settings=settings, critic=critic, seed=seed)
    seconds["edit"] = candidates.seconds
    started = time.perf_counter()
    choice = min(max(int(choice), 0), len(candidates) - 1)
    path = morph(model, z0, candidates.z[choice], frames=frames, method=morph_method)
    transferred = transfer(photo.cpu(), path.images.cpu())
    seconds["transfer"] = time.perf_counter() - started
    return PhotoEdit(photo=photo, z0=z0, projected=projected, candidates=candidates,
                     morph=path, transferred=transferred, seconds=seconds)


def edit_photo(model_name: str, image_path, *, color=None, sketch=None,
               settings: EditSettings | None = None, candidates: int = 4, frames: int = 16,
               morph_method: str = "linear", project_steps: int = 50, seed: int = 0,
               out: Path) -> dict:
    """``ganzoo edit brush``: run the loop and write the results into ``out`` (atomically);
    returns what ``edit.json`` holds."""
    from ganzoo.base.images import save_grid
    from ganzoo.base.io import atomic_write_json

    model, critic = load_editable(model_name)
    photo = read_photo(image_path, model.config.channels)
    constraints = from_strokes(tuple(photo.shape[-2:]), color=color, sketch=sketch)
    result = run(model, photo, constraints, settings=settings, critic=critic, frames=frames,
                 morph_method=morph_method, project_steps=project_steps, seed=seed)
    found = result.candidates
    shown = min(candidates, len(found))
    out = Path(out)
    save_grid(found.images[:shown], out / "candidates.png", nrow=shown)
    save_grid(result.morph.images, out / "morph.png", nrow=len(result.morph))
    save_grid(result.transferred[None], out / "transferred.png", nrow=1, padding=0)
    save_grid(result.projected[None], out / "projection.png", nrow=1, padding=0)
    start_color, start_edge = errors(model, result.projected[None], constraints, settings)

    def number(value) -> float | None:
        value = float(value)
        return None if value != value else round(value, 6)  # NaN: no discriminator

    summary = {
        "model": str(model_name), "image": str(image_path),
        "projection": {"color_error": number(start_color[0]), "edge_error": number(start_edge[0])},
        "candidates": [{"rank": i, "cost": number(found.cost[i]),
                        "color_error": number(found.color_error[i]),
                        "edge_error": number(found.edge_error[i]),
                        "realism": number(found.realism[i])} for i in range(shown)],
        "kept": len(found),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "settings": attrs.asdict(settings or EditSettings()),
    }
    atomic_write_json(out / "edit.json", summary)
    return summary
