"""User constraints for iGAN editing (Zhu et al. 2016, section 4): brushes as targets + masks.

- **colour brush**: at the painted pixels, the image should have the painted colour (grayscale
  models: the painted intensity, the luminance of the paint);
- **sketch brush**: where the user drew lines, the image should have edges like the lines, compared
  on a differentiable HOG-style edge response (:func:`edge_response`);
- **warp brush**: the colours of the start image inside a source mask should appear moved by an
  offset (:func:`warp_brush` turns it into a colour constraint, as the authors' tool does).

All images are ``[C, H, W]`` in [-1, 1]; masks ``[1, H, W]`` in [0, 1] (soft after resizing).
Strokes drawn at the photo's size are brought to the generator's size by
:meth:`Constraints.resized` (area averages: a pixel half covered by paint has weight 0.5).
"""

from __future__ import annotations

import math

import attrs
import torch
import torch.nn.functional as F

from ganzoo.base.errors import GanzooError

#: The HOG-style edge response's defaults (the authors' HOGNet: 8 orientations, 8-pixel cells).
ORIENTATIONS = 8
CELL = 8


class EditError(GanzooError):
    """Constraints or a model that an edit cannot use."""


@attrs.frozen(kw_only=True)
class Constraints:
    """What the user asked for: a colour target and mask, and sketch lines (their own mask)."""

    color: torch.Tensor | None = None        # [C, H, W] in [-1, 1]
    color_mask: torch.Tensor | None = None   # [1, H, W] in [0, 1]
    sketch: torch.Tensor | None = None       # [1, H, W] in [0, 1]: 1 on the drawn lines

    def __attrs_post_init__(self) -> None:
        if (self.color is None) != (self.color_mask is None):
            raise EditError("a colour constraint needs both the colours and their mask")
        sizes = {tuple(t.shape[-2:]) for t in (self.color, self.color_mask, self.sketch)
                 if t is not None}
        if len(sizes) > 1:
            raise EditError(f"the colour strokes and the sketch differ in size: "
                            f"{' vs '.join('x'.join(map(str, s)) for s in sorted(sizes))}")
        if self.empty:
            raise EditError("the strokes are empty: paint at least one pixel (alpha > 0) with the "
                            "colour brush or draw a sketch line")

    @property
    def empty(self) -> bool:
        painted = [m for m in (self.color_mask, self.sketch) if m is not None]
        return not any(bool((m > 0).any()) for m in painted)

    @property
    def size(self) -> tuple[int, int]:
        ref = self.color_mask if self.color_mask is not None else self.sketch
        return int(ref.shape[-2]), int(ref.shape[-1])

    def resized(self, size: int | tuple[int, int]) -> Constraints:
        """The constraints at ``size`` (the generator's): area-averaged colours and masks."""
        size = (size, size) if isinstance(size, int) else tuple(size)
        if self.size == size:
            return self
        color = mask = sketch = None
        if self.color is not None:
            weight = _area(self.color_mask, size)
            color = _area(self.color * self.color_mask, size) / weight.clamp_min(1e-6)
            mask = weight
        if self.sketch is not None:
            sketch = _area(self.sketch, size)
            sketch = sketch / sketch.amax().clamp_min(1e-6)  # thin lines stay lines
        return Constraints(color=color, color_mask=mask, sketch=sketch)

    def with_channels(self, channels: int) -> Constraints:
        """Colour targets for a ``channels``-channel generator (1: the paint's luminance)."""
        if self.color is None or self.color.shape[0] == channels:
            return self
        if channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=self.color.dtype)
            color = (self.color * weights.view(3, 1, 1)).sum(0, keepdim=True)
        else:
            color = self.color.expand(channels, -1, -1)
        return attrs.evolve(self, color=color)


def _area(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image[None].float(), size=size, mode="area")[0]


def from_strokes(size: tuple[int, int], *, color=None, sketch=None) -> Constraints:
    """Constraints from RGBA stroke images (PIL images, paths or ``[H, W, 4]`` uint8 arrays) the
    size ``(H, W)`` of the image they were drawn on: painted pixels are those with alpha > 0."""
    color_target = color_mask = sketch_mask = None
    if color is not None:
        rgba = _rgba(color, size, "the colour strokes")
        color_target = rgba[:3] / 127.5 - 1
        color_mask = (rgba[3:] > 0).float()
    if sketch is not None:
        sketch_mask = (_rgba(sketch, size, "the sketch")[3:] > 0).float()
    if color is None and sketch is None:
        raise EditError("give colour strokes, a sketch, or both")
    return Constraints(color=color_target, color_mask=color_mask, sketch=sketch_mask)


def _rgba(strokes, size: tuple[int, int], what: str) -> torch.Tensor:
    """``[4, H, W]`` float in [0, 255]; the strokes must be ``size`` (H, W)."""
    import numpy as np
    from PIL import Image

    label = f"{what} ({strokes})" if isinstance(strokes, str) or hasattr(strokes, "__fspath__") \
        else what
    if isinstance(strokes, str) or hasattr(strokes, "__fspath__"):
        try:
            strokes = Image.open(strokes)
            strokes.load()
        except (OSError, ValueError) as exc:
            raise EditError(f"{label}: cannot read the image: {exc}") from None
    if isinstance(strokes, Image.Image):
        if strokes.mode not in ("RGBA", "LA", "PA") and "transparency" not in strokes.info:
            raise EditError(f"{label}: the image has no transparency ({strokes.mode}); save the "
                            "strokes as a PNG with an alpha channel (painted = alpha > 0)")
        strokes = np.asarray(strokes.convert("RGBA"))
    array = np.asarray(strokes)
    if array.ndim != 3 or array.shape[2] != 4:
        raise EditError(f"{label}: expected RGBA strokes [H, W, 4], got shape {array.shape}")
    if tuple(array.shape[:2]) != tuple(size):
        raise EditError(f"{label}: the strokes are {array.shape[1]}x{array.shape[0]} but the image "
                        f"is {size[1]}x{size[0]}; draw them on (or resize them to) the image")
    return torch.from_numpy(array.astype(np.float32)).permute(2, 0, 1)


def warp_brush(image: torch.Tensor, source_mask: torch.Tensor, offset: tuple[int, int]
               ) -> Constraints:
    """Move the colours of ``image`` ``[C, H, W]`` inside ``source_mask`` by ``offset`` (dy, dx)
    pixels: a colour constraint at the moved position (pixels moved off the image are dropped)."""
    if not bool((source_mask > 0).any()):
        raise EditError("the warp brush's source region is empty")
    dy, dx = int(offset[0]), int(offset[1])
    h, w = image.shape[-2:]
    color = torch.zeros_like(image)
    mask = torch.zeros_like(source_mask, dtype=torch.float32)
    ys, xs = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
    ys_src, xs_src = slice(max(-dy, 0), h + min(-dy, 0)), slice(max(-dx, 0), w + min(-dx, 0))
    color[:, ys, xs] = image[:, ys_src, xs_src]
    mask[:, ys, xs] = source_mask[:, ys_src, xs_src].float()
    if not bool((mask > 0).any()):
        raise EditError(f"the warp offset {offset} moves the whole source region off the image")
    return Constraints(color=color, color_mask=mask)


def _sobel(device, dtype) -> torch.Tensor:
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8
    return torch.stack([gx, gx.t()])[:, None].to(device=device, dtype=dtype)


def edge_response(images: torch.Tensor, *, orientations: int = ORIENTATIONS, cell: int = CELL
                  ) -> torch.Tensor:
    """A differentiable HOG-style edge response ``[N, orientations, h, w]`` of ``[N, C, H, W]``.

    Fixed convolutions only: Sobel gradients of the channel mean, the gradient magnitude split
    between the two nearest of ``orientations`` unsigned orientation bins (linear in the angle),
    then averaged over ``cell``-pixel cells taken every ``cell // 2`` pixels (overlapping cells,
    as HOG blocks overlap).
    """
    gray = images.mean(dim=1, keepdim=True)
    grad = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), _sobel(images.device,
                                                                        images.dtype))
    gx, gy = grad[:, :1], grad[:, 1:]
    magnitude = (gx.square() + gy.square() + 1e-8).sqrt()
    angle = torch.atan2(gy, gx).remainder(math.pi)                  # unsigned, [0, pi)
    centres = torch.arange(orientations, device=images.device, dtype=images.dtype)
    centres = centres.view(1, -1, 1, 1) * (math.pi / orientations)
    distance = (angle - centres).abs()
    distance = torch.minimum(distance, math.pi - distance)          # circular
    weights = (1 - distance * (orientations / math.pi)).clamp_min(0)
    return F.avg_pool2d(magnitude * weights, cell, stride=max(cell // 2, 1))


def cell_mask(mask: torch.Tensor, *, cell: int = CELL) -> torch.Tensor:
    """``[N, 1, h, w]``: the cells of :func:`edge_response` that a ``[N, 1, H, W]`` mask touches."""
    return (F.max_pool2d(mask.float(), cell, stride=max(cell // 2, 1)) > 0).float()


def sketch_target(sketch: torch.Tensor) -> torch.Tensor:
    """The lines ``[1, H, W]`` (1 drawn) as an image in [-1, 1]: white lines on black, the
    contrast of a strong edge, so that its edge response is comparable to an image's."""
    return sketch * 2 - 1
