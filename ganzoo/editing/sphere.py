"""A map of a dataset on the latent sphere ("projecting latent vectors on a sphere").

Every image is encoded into z (the projection encoder, or the hybrid projection of
:mod:`ganzoo.editing.projection`), normalised to the unit sphere (where almost all of a
high-dimensional Gaussian's mass lies, so the direction carries what the norm does not), and
reduced to three dimensions in a way that keeps the sphere: the unit latents are centred,
projected onto their top three principal axes, and the projections renormalised to unit length.

:func:`sphere_map` computes the map; :func:`write_projector`, :func:`write_html` and
:func:`write_png` draw it (TensorBoard's embedding projector, a self-contained plotly page and a
static matplotlib figure); :func:`knn_accuracy` measures how well labels separate on it.
"""

from __future__ import annotations

import attrs
import torch

from ganzoo.base.errors import GanzooError
from ganzoo.base.extras import require
from ganzoo.nn.kinds import ConditionalGenerator, LatentGenerator


@attrs.frozen(kw_only=True)
class SphereMap:
    """One point per image: ``coords [N, 3]`` on the unit sphere, from ``unit [N, z_dim]``
    (the encoded latents, normalised), with the inputs, their reconstructions G(z), per-image
    pixel MSE and labels (strings, one per image)."""

    coords: torch.Tensor
    unit: torch.Tensor
    images: torch.Tensor
    reconstructions: torch.Tensor
    mse: torch.Tensor
    labels: tuple[str, ...]
    explained: tuple[float, float, float]  # variance fraction of each principal axis


def check_model(model, name: str = "the model") -> None:
    """Raise one clear line unless ``model`` draws images from z alone."""
    if not isinstance(model, LatentGenerator):
        raise GanzooError(f"{name} is a {model.kind}; the sphere map needs a latent generator "
                          "(images from z, e.g. dcgan-digits)")
    if isinstance(model, ConditionalGenerator) or model.inputs():
        extra = ", ".join(i.name for i in model.inputs())
        raise GanzooError(f"{name} takes inputs beside z ({extra}); the sphere map projects "
                          "images onto z alone, so it needs an unconditional generator")


def to_sphere(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float, float]]:
    """Flat latents ``[N, D]`` -> (unit latents ``[N, D]``, 3-D points on the unit sphere,
    the variance fraction of each of the three principal axes)."""
    if len(z) < 3:
        raise GanzooError(f"a sphere map needs at least 3 images, got {len(z)}")
    unit = torch.nn.functional.normalize(z.flatten(1).double(), dim=1)
    centred = unit - unit.mean(0)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    coords = torch.nn.functional.normalize(centred @ vh[:3].T, dim=1)
    var = s.pow(2)
    explained = tuple(float(v) for v in (var[:3] / var.sum()))
    return unit.float(), coords.float(), explained


def sphere_map(model, images: torch.Tensor, labels, *, encoder, method: str = "encoder",
               steps: int = 30, restarts: int = 1) -> SphereMap:
    """Encode ``images`` (``[N, C, H, W]`` in [-1, 1], the model's size) with ``encoder``
    (``method="encoder"``) or the hybrid projection, and place them on the sphere."""
    from ganzoo.editing import projection

    check_model(model)
    labels = tuple(str(label) for label in labels)
    if len(labels) != len(images):
        raise GanzooError(f"{len(images)} images but {len(labels)} labels")
    projected = projection.project(model, images, method=method, encoder=encoder, steps=steps,
                                   restarts=restarts)
    unit, coords, explained = to_sphere(projected.z)
    return SphereMap(coords=coords, unit=unit, images=images.detach().cpu(),
                     reconstructions=projected.images.detach().cpu(),
                     mse=projected.mse.detach().cpu(), labels=labels, explained=explained)


def dataset_images(data: str, model, *, split: str = "test", limit: int | None = None
                   ) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Images at the model's size and their labels: ``"digits"`` (the labelled split of the
    embedded digits; 1-channel models only) or a folder of images, each labelled by the
    subfolder it is in (images directly in the folder are labelled ``"."``)."""
    from pathlib import Path

    from ganzoo.base.errors import DataError

    cfg = model.config
    if data == "digits":
        if cfg.channels != 1:
            raise DataError(f"dataset 'digits' is 1-channel (grayscale) but the model draws "
                            f"{cfg.channels}-channel images; give a folder of images instead")
        from ganzoo.data.configs import DigitsConfig
        from ganzoo.data.digits import build

        digits = build(DigitsConfig(resolution=cfg.resolution), split)
        images, labels = digits.images, tuple(str(int(y)) for y in digits.labels)
    else:
        folder = Path(data)
        if not folder.is_dir():
            raise DataError(f"--data {data!r}: not 'digits' and not a folder of images")
        from ganzoo.data.folder import EXTENSIONS, find_images
        from ganzoo.base.images import as_batch

        paths = find_images(folder)
        if not paths:
            raise DataError(f"no images found in {folder} ({', '.join(EXTENSIONS)})")
        size = (cfg.resolution, cfg.resolution)
        images = torch.cat([torch.nn.functional.interpolate(
            as_batch(str(p), channels=cfg.channels), size=size, mode="bilinear", antialias=True)
            for p in paths[:limit]])
        labels = tuple(p.relative_to(folder).parts[0] if len(p.relative_to(folder).parts) > 1
                       else "." for p in paths[:limit])
    return images[:limit], labels[:limit]


def knn_accuracy(points: torch.Tensor, labels, *, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy of ``labels`` on ``points [N, d]`` (Euclidean; ties go to
    the label of the nearer neighbour)."""
    names = sorted(set(labels))
    y = torch.tensor([names.index(label) for label in labels])
    dist = torch.cdist(points.double(), points.double())
    dist.fill_diagonal_(float("inf"))
    near = dist.topk(k, largest=False).indices  # nearest first
    votes = torch.zeros(len(y), len(names), dtype=torch.float64)
    # Weight 1 + tiny rank bonus: majority wins, a tie goes to the nearer neighbour's label.
    weights = 1.0 + 1e-6 * torch.arange(k, 0, -1, dtype=torch.float64)
    votes.scatter_add_(1, y[near], weights.expand(len(y), k).contiguous())
    return float((votes.argmax(1) == y).double().mean())


def random_sphere(unit: torch.Tensor, *, seed: int) -> torch.Tensor:
    """The unit latents through a random Gaussian 3-D projection, renormalised: the baseline the
    principal axes are measured against."""
    generator = torch.Generator().manual_seed(seed)
    basis = torch.randn(unit.shape[1], 3, generator=generator, dtype=torch.float64)
    return torch.nn.functional.normalize(unit.double() @ basis, dim=1).float()


def _pairs(result: SphereMap) -> torch.Tensor:
    """Each input beside its reconstruction, ``[N, C, H, 2W]`` in [-1, 1]."""
    return torch.cat([result.images, result.reconstructions], dim=3)


def write_projector(result: SphereMap, folder) -> list:
    """TensorBoard embedding-projector files in ``folder`` (``tensorboard --logdir FOLDER``):
    the unit latents (the projector's PCA of them is this map; its "sphereize data" box is
    already satisfied), a sprite sheet of input | reconstruction thumbnails and the labels and
    pixel MSE as metadata. Returns the paths written, each atomically."""
    import shutil
    import tempfile
    from pathlib import Path

    require("tensorboard", "map", what="the sphere map's embedding-projector files")
    from torch.utils.tensorboard import SummaryWriter

    from ganzoo.base.io import atomic_write_with

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # SummaryWriter writes in place; write into a scratch folder and move each finished file.
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        writer = SummaryWriter(log_dir=str(scratch))
        writer.add_embedding(result.unit, metadata=[[label, f"{float(m):.5f}"] for label, m
                                                    in zip(result.labels, result.mse)],
                             metadata_header=["label", "mse"],
                             label_img=(_pairs(result) + 1) / 2, tag="latent_sphere")
        writer.close()
        written = []
        for src in sorted(p for p in scratch.rglob("*") if p.is_file()):
            dest = folder / src.relative_to(scratch)
            atomic_write_with(dest, lambda tmp, src=src: shutil.copyfile(src, tmp))
            written.append(dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return written


def _thumbnail_uri(image: torch.Tensor) -> str:
    import base64
    import io

    from PIL import Image

    from ganzoo.base.images import to_uint8

    array = to_uint8(image).permute(1, 2, 0).numpy()
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_HOVER_JS = """
var map = document.getElementById('{plot_id}');
var thumbs = JSON.parse(document.getElementById('thumbnails').textContent);
var box = document.getElementById('hover-thumb');
map.on('plotly_hover', function (event) {
  var point = event.points[0];
  box.querySelector('img').src = thumbs[point.customdata[0]];
  box.querySelector('figcaption').textContent =
    'label ' + point.customdata[1] + ' · input | reconstruction · MSE ' + point.customdata[2];
  box.hidden = false;
});
map.on('plotly_unhover', function () { box.hidden = true; });
"""


def write_html(result: SphereMap, path, *, title: str = "Latent sphere map"):
    """A self-contained, offline page (plotly with its JavaScript inlined): the map rotatable in
    3-D, one colour per label, each point's input | reconstruction shown on hover."""
    import html
    import json

    go = require("plotly.graph_objects", "map", what="the sphere map's page")

    from ganzoo.base.io import atomic_write_text

    fig = go.Figure()
    names = sorted(set(result.labels))
    for name in names:
        idx = [i for i, label in enumerate(result.labels) if label == name]
        pts = result.coords[idx]
        fig.add_trace(go.Scatter3d(
            x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), z=pts[:, 2].tolist(), mode="markers",
            name=name, marker={"size": 4},
            customdata=[[i, name, f"{float(result.mse[i]):.4f}"] for i in idx],
            hovertemplate="label %{customdata[1]}<extra></extra>"))
    fig.update_layout(title=title, legend_title_text="label", margin={"l": 0, "r": 0, "b": 0},
                      scene={"aspectmode": "cube"})
    thumbs = [_thumbnail_uri(pair) for pair in _pairs(result)]
    body = fig.to_html(include_plotlyjs=True, full_html=False, div_id="sphere-map",
                       post_script=_HOVER_JS, default_height="90vh")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: sans-serif; margin: 0; }}
#hover-thumb {{ position: fixed; top: 1em; right: 1em; background: #fff; border: 1px solid #888;
  padding: 6px; margin: 0; }}
#hover-thumb img {{ width: 192px; image-rendering: pixelated; display: block; }}</style>
</head><body>
<script type="application/json" id="thumbnails">{json.dumps(thumbs)}</script>
<figure id="hover-thumb" hidden><img alt="input and reconstruction"><figcaption></figcaption>
</figure>
{body}
</body></html>
"""
    atomic_write_text(path, page)
    return path


def write_png(result: SphereMap, path, *, title: str = "Latent sphere map"):
    """A static figure for reports: the sphere from two opposite sides, coloured by label."""
    matplotlib = require("matplotlib", "map", what="the sphere map's PNG")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.base.io import atomic_write_with

    names = sorted(set(result.labels))
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    fig = plt.figure(figsize=(10, 5))
    for col, azim in enumerate((30, 210)):
        ax = fig.add_subplot(1, 2, col + 1, projection="3d")
        for k, name in enumerate(names):
            idx = [i for i, label in enumerate(result.labels) if label == name]
            pts = result.coords[idx].numpy()
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], s=8, color=cmap(k % cmap.N), label=name)
        ax.view_init(elev=20, azim=azim)
        ax.set_box_aspect((1, 1, 1))
        ax.set_title(f"seen from azimuth {azim}°", fontsize=9)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), title="label", loc="center right")
    fig.suptitle(title)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return path
