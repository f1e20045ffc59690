"""Transferring an edit back to the real photo (iGAN, section 5).

The generator cannot reproduce the photo, so the *change* from ``G(z0)`` to ``G(z1)`` is moved
onto it: for each step of the morph (frame ``i`` to frame ``i + 1``),

1. **motion**: dense optical flow from frame ``i + 1`` back to frame ``i`` (OpenCV's DIS flow,
   or Farnebäck), so that ``aligned(p) = frame_i(p + flow(p))`` has frame ``i + 1``'s geometry;
2. **colour**: a local affine colour model per pixel, ``frame_{i+1}(p) ≈ A(p) · aligned(p) + b(p)``
   (``A`` ``C x C``, ``b`` ``C``: 3x4 on [R, G, B, 1] for colour), fitted by least squares over a
   ``(2 radius + 1)²`` window around each pixel and regularised towards the identity
   (``A = (Σ_ta + ε I)(Σ_aa + ε I)⁻¹``), then smoothed by averaging the coefficients over the same
   windows: the guided filter's box-filter solution (He et al. 2010) with the identity as prior,
   so flat regions keep the photo's texture and only shift its colour;
3. both are resized to the photo and applied to it: ``photo ← A · warp(photo, flow) + b``.

The steps are composed along the morph, so large edits move in small, well-tracked steps.
The photo keeps its own resolution. Flow is computed at a working size of at least
``min_side`` pixels (the generator's images are enlarged for it; DIS needs more than 32 pixels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.base.extras import require
from ganzoo.editing.constraints import EditError

FLOWS = ("dis", "farneback")


def _cv2():
    return require("cv2", "editing", what="edit transfer", error=EditError,
                   package="OpenCV (opencv-python-headless)")


def optical_flow(source: torch.Tensor, target: torch.Tensor, *, method: str = "dis"
                 ) -> torch.Tensor:
    """``[2, H, W]`` flow (dx, dy) with ``source(p) ≈ target(p + flow(p))``, of two
    ``[C, H, W]`` images in [-1, 1]."""
    import numpy as np

    if method not in FLOWS:
        raise EditError(f"unknown optical flow {method!r}; accepted: {', '.join(FLOWS)}")
    cv2 = _cv2()

    def gray(image):
        g = ((image.float().mean(0) + 1) * 127.5).clamp(0, 255).round().byte()
        return np.ascontiguousarray(g.cpu().numpy())

    a, b = gray(source), gray(target)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(a, b, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return torch.from_numpy(flow).permute(2, 0, 1).float()


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``image(p + flow(p))`` for ``[C, H, W]`` and a ``[2, H, W]`` flow of the same size
    (bilinear, borders repeated)."""
    _, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    gx = (xs + flow[0]) / max(w - 1, 1) * 2 - 1
    gy = (ys + flow[1]) / max(h - 1, 1) * 2 - 1
    grid = torch.stack([gx, gy], -1)[None].to(image)
    return F.grid_sample(image[None], grid, mode="bilinear", padding_mode="border",
                         align_corners=True)[0]


def _box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over ``(2r+1)²`` windows of ``[K, H, W]`` (windows cut at the border)."""
    return F.avg_pool2d(x[None], 2 * radius + 1, stride=1, padding=radius,
                        count_include_pad=False)[0]


def fit_colour_model(source: torch.Tensor, target: torch.Tensor, *, radius: int = 4,
                     eps: float = 1e-2) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel ``A [H, W, C, C]``, ``b [H, W, C]`` with ``target ≈ A · source + b`` (images
    ``[C, H, W]`` in [-1, 1]; the fit is in [0, 1] units, where ``eps`` applies), smoothed."""
    c, h, w = source.shape
    s, t = (source.double() + 1) / 2, (target.double() + 1) / 2
    mean_s, mean_t = _box(s, radius), _box(t, radius)
    ss = _box((s[:, None] * s[None]).reshape(c * c, h, w), radius).reshape(c, c, h, w)
    ts = _box((t[:, None] * s[None]).reshape(c * c, h, w), radius).reshape(c, c, h, w)
    cov_ss = ss - mean_s[:, None] * mean_s[None]
    cov_ts = ts - mean_t[:, None] * mean_s[None]
    eye = torch.eye(c, dtype=torch.float64).view(c, c, 1, 1)
    lhs = (cov_ss + eps * eye).permute(2, 3, 0, 1)              # [H, W, C, C], symmetric
    rhs = (cov_ts + eps * eye).permute(2, 3, 0, 1)
    # A · lhs = rhs  ⇔  lhs · Aᵀ = rhsᵀ
    a = torch.linalg.solve(lhs, rhs.transpose(-1, -2)).transpose(-1, -2)
    b = mean_t.permute(1, 2, 0) - (a @ mean_s.permute(1, 2, 0)[..., None])[..., 0]
    # Smooth: each pixel averages the models of the windows that contain it.
    a = _box(a.permute(2, 3, 0, 1).reshape(c * c, h, w), radius).reshape(c, c, h, w)
    b = _box(b.permute(2, 0, 1), radius)
    return a.permute(2, 3, 0, 1).float(), b.permute(1, 2, 0).float()


def apply_colour_model(image: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``A · image + b`` per pixel, in [-1, 1] (``a``, ``b`` at the image's size)."""
    x = ((image.float() + 1) / 2).permute(1, 2, 0)[..., None]
    out = (a @ x)[..., 0] + b
    return (out.permute(2, 0, 1) * 2 - 1).clamp(-1, 1)


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x[None], size=size, mode="bilinear", align_corners=False)[0]


def transfer(photo: torch.Tensor, frames: torch.Tensor, *, flow: str = "dis", radius: int | None
             = None, eps: float = 1e-2, min_side: int = 128) -> torch.Tensor:
    """The photo ``[C, H, W]`` in [-1, 1] edited as ``frames`` (the morph's images,
    ``[F, C, h, w]``, ``frames[0] = G(z0)``, ``frames[-1] = G(z1)``) change; ``[C, H, W]``.

    ``radius`` of the colour model's windows in working pixels (default: a 32nd of the working
    side); ``flow``: ``"dis"`` or ``"farneback"``.
    """
    if photo.ndim != 3 or frames.ndim != 4 or photo.shape[0] != frames.shape[1]:
        raise EditError(f"the photo {tuple(photo.shape)} and the frames {tuple(frames.shape)} "
                        "need the same channels ([C, H, W] and [F, C, h, w])")
    if len(frames) < 2:
        raise EditError("an edit transfer needs at least two frames (G(z0) and G(z1))")
    height, width = photo.shape[-2:]
    short = max(min_side, frames.shape[-1])  # the flow's working size: the photo's aspect
    work = ((short, round(width * short / height)) if height <= width
            else (round(height * short / width), short))
    radius = radius if radius is not None else max(1, min(work) // 32)
    frames = F.interpolate(frames.float().cpu(), size=work, mode="bicubic",
                           align_corners=False).clamp(-1, 1)
    out = photo.float().cpu()
    for before, after in zip(frames[:-1], frames[1:]):
        motion = optical_flow(after, before, method=flow)           # after(p) ≈ before(p + m)
        # Keep the motion only where it explains the change: in flat or unchanged regions any
        # flow fits, and a stray one would smear the photo's own texture.
        aligned = warp(before, motion)
        gain = (_box((after - before).abs().mean(0, keepdim=True), radius)
                - _box((after - aligned).abs().mean(0, keepdim=True), radius))
        motion = motion * _box((gain / 0.02).clamp(0, 1), radius)
        aligned = warp(before, motion)
        a, b = fit_colour_model(aligned, after, radius=radius, eps=eps)
        # To the photo: flow in photo pixels, colour models resized.
        ratio = torch.tensor([width / work[1], height / work[0]]).view(2, 1, 1)
        motion_photo = _resize(motion, (height, width)) * ratio
        c = photo.shape[0]
        a_photo = _resize(a.reshape(*work, c * c).permute(2, 0, 1), (height, width))
        b_photo = _resize(b.permute(2, 0, 1), (height, width))
        out = apply_colour_model(warp(out, motion_photo),
                                 a_photo.permute(1, 2, 0).reshape(height, width, c, c),
                                 b_photo.permute(1, 2, 0))
    return out
