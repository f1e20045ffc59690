"""The demo page's iGAN editing tab (``ganzoo serve`` on a latent generator).

Start from a seed or project an uploaded photo; paint colour strokes and sketch lines over the
start image (two Gradio image editors); press Edit for the ranked candidates; a slider walks the
morph from the start to the chosen candidate (any frame can become the new start); with a photo,
the edit is transferred onto it at its own size. :class:`EditingDemo` holds the callbacks, so
they are usable (and tested) without a browser.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from ganzoo.editing.constraints import Constraints, EditError
from ganzoo.editing.manifold_edit import EditSettings, check_generator, edit, errors
from ganzoo.editing.morph import FRAMES, morph
from ganzoo.base.errors import GanzooError

#: Side (pixels) of the canvases the strokes are painted on.
CANVAS = 256
STARTS = 16  # the page's default batch of starts (the library's is the authors' 64): ~2 s a try


class EditingDemo:
    """The editing tab's callbacks for one latent generator (``critic``: its discriminator)."""

    def __init__(self, model, *, critic=None, lock: threading.Lock | None = None):
        self.model = check_generator(model)
        self.critic = critic
        self._lock = lock or threading.Lock()

    def _image(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.generate(0, z=z[None].to(self.model.device))[0].cpu()

    @staticmethod
    def canvas(image: torch.Tensor):
        """A PIL picture of ``[C, h, w]`` in [-1, 1] at :data:`CANVAS` pixels (nearest)."""
        from PIL import Image

        from ganzoo.base.images import to_uint8, with_channels

        array = to_uint8(with_channels(image[None], 3)[0]).permute(1, 2, 0).numpy()
        return Image.fromarray(array).resize((CANVAS, CANVAS), Image.NEAREST)

    def start_from_seed(self, seed: int) -> dict:
        """A state whose start is the model's latent for ``seed`` (no photo)."""
        z0 = self.model.sample_latent(1, seed=int(seed))[0].cpu()
        return {"z0": z0, "photo": None, "candidates": None, "morphs": {}}

    def project(self, photo) -> dict:
        """A state whose start is the projection of a PIL ``photo``."""
        from ganzoo.editing.session import project_photo
        from ganzoo.base.images import as_batch

        if photo is None:
            raise EditError("upload a photo first")
        image = as_batch(photo, channels=self.model.config.channels)[0]
        with self._lock:
            z0, _ = project_photo(self.model, image)
        return {"z0": z0.cpu(), "photo": image, "candidates": None, "morphs": {}}

    def start_image(self, state: dict):
        return self.canvas(self._image(state["z0"]))

    def constraints(self, color_value, sketch_value) -> Constraints:
        """Constraints from the two editors' values (dicts of RGBA ``layers``)."""
        color, color_mask = _painted(color_value)
        _, sketch = _painted(sketch_value)
        if color_mask is None and sketch is None:
            raise EditError("paint a colour stroke or draw a sketch line first")
        return Constraints(color=color, color_mask=color_mask, sketch=sketch)

    def run_edit(self, state: dict | None, color_value, sketch_value, starts: int = STARTS):
        """``(state, candidate pictures, caption)``: the edit of the state's start."""
        if not state:
            raise EditError("choose a start first (a seed or a projected photo)")
        cons = self.constraints(color_value, sketch_value)
        settings = EditSettings(starts=int(starts))
        with self._lock:
            found = edit(self.model, state["z0"], cons, settings=settings, critic=self.critic)
            start_color, _ = errors(self.model, self._image(state["z0"])[None], cons, settings)
        state = {**state, "candidates": found.z.cpu(), "morphs": {}}
        pictures = [self.canvas(image.cpu()) for image in found.images]
        caption = (f"{len(found)} candidates in {found.seconds:.1f} s; stroke colour error "
                   f"{float(start_color[0]):.3f} -> {float(found.color_error[0]):.3f}")
        return state, pictures, caption

    def _morph(self, state: dict, choice: int):
        if state is None or state.get("candidates") is None:
            raise EditError("press Edit first")
        choice = min(max(int(choice), 0), len(state["candidates"]) - 1)
        if choice not in state["morphs"]:
            state["morphs"][choice] = morph(self.model, state["z0"], state["candidates"][choice],
                                            frames=FRAMES)
        return state["morphs"][choice]

    def frame(self, state: dict, choice: int, frame: int):
        """The morph frame's picture, and the photo with the edit up to that frame transferred
        (None without a photo)."""
        from ganzoo.editing.transfer import transfer
        from ganzoo.apps.serve import to_pil

        path = self._morph(state, choice)
        frame = min(max(int(frame), 0), len(path) - 1)
        picture = self.canvas(path.images[frame].cpu())
        if state.get("photo") is None or frame == 0:
            return picture, (to_pil(state["photo"][None]) if state.get("photo") is not None
                             else None)
        with self._lock:
            moved = transfer(state["photo"], path.images[:frame + 1].cpu())
        return picture, to_pil(moved[None])

    def restart(self, state: dict, choice: int, frame: int) -> dict:
        """A state whose start is the morph's ``frame`` (the photo stays)."""
        path = self._morph(state, choice)
        z0 = path.start_at(min(max(int(frame), 0), len(path) - 1)).cpu()
        return {"z0": z0, "photo": state.get("photo"), "candidates": None, "morphs": {}}


def _painted(value):
    """``(colour [3, H, W] in [-1, 1], mask [1, H, W])`` of an editor's layers (None, None when
    nothing is painted); later layers paint over earlier ones."""
    import numpy as np

    if not value:
        return None, None
    layers = [np.asarray(layer) for layer in (value.get("layers") or []) if layer is not None]
    layers = [layer for layer in layers if layer.ndim == 3 and layer.shape[2] == 4]
    if not layers:
        return None, None
    h, w = layers[0].shape[:2]
    colour = torch.zeros(3, h, w)
    mask = torch.zeros(1, h, w)
    for layer in layers:
        rgba = torch.from_numpy(layer.astype(np.float32)).permute(2, 0, 1)
        if rgba.shape[1:] != (h, w):
            rgba = F.interpolate(rgba[None], size=(h, w), mode="nearest")[0]
        painted = rgba[3:] > 0
        colour = torch.where(painted, rgba[:3] / 127.5 - 1, colour)
        mask = torch.maximum(mask, painted.float())
    if not bool(mask.any()):
        return None, None
    return colour, mask


def add_editing_tab(app, model, *, critic=None) -> EditingDemo:
    """Add the iGAN editing tab to the ``gradio.Blocks`` ``app`` for the latent generator
    ``model`` (``critic``: its discriminator, for the realism score); returns its callbacks."""
    import gradio as gr

    demo = EditingDemo(model, critic=critic)

    def shown(function):
        def call(*args):
            try:
                return function(*args)
            except GanzooError as exc:
                raise gr.Error(str(exc)) from None
        return call

    def background(state):
        start = demo.start_image(state)
        return state, {"background": start, "layers": [], "composite": start}, \
            {"background": start, "layers": [], "composite": start}

    with app, gr.Tab("Edit (iGAN)", elem_id="ganzoo-edit-tab"):
        state = gr.State(None)
        gr.Markdown("Start from a seed or a photo, paint colour strokes and sketch lines over "
                    "it, then press **Edit** (iGAN, Zhu et al. 2016).")
        with gr.Row():
            seed = gr.Number(0, precision=0, label="seed", elem_id="ganzoo-edit-seed")
            from_seed = gr.Button("Start from seed", elem_id="ganzoo-edit-from-seed")
            photo = gr.Image(type="pil", sources=["upload"], label="photo (optional)",
                             elem_id="ganzoo-edit-photo", format="png")
            project = gr.Button("Project photo", elem_id="ganzoo-edit-project")
        with gr.Row():
            brush = gr.Brush(colors=["#ff0000", "#00c000", "#2060ff", "#ffffff", "#000000",
                                     "#ffd000"], default_color="#ff0000", default_size=12,
                             color_mode="defaults")
            colours = gr.ImageEditor(type="numpy", image_mode="RGBA", sources=(),
                                     transforms=(), brush=brush, layers=False,
                                     canvas_size=(CANVAS, CANVAS), fixed_canvas=True,
                                     label="colour strokes", elem_id="ganzoo-edit-color",
                                     format="png")
            lines = gr.ImageEditor(type="numpy", image_mode="RGBA", sources=(), transforms=(),
                                   brush=gr.Brush(colors=["#000000"], default_size=4,
                                                  color_mode="fixed"), layers=False,
                                   canvas_size=(CANVAS, CANVAS), fixed_canvas=True,
                                   label="sketch lines", elem_id="ganzoo-edit-sketch",
                                   format="png")
        with gr.Row():
            starts = gr.Slider(1, 64, value=STARTS, step=1, label="starts (the authors use 64)",
                               elem_id="ganzoo-edit-starts")
            run = gr.Button("Edit", variant="primary", elem_id="ganzoo-edit-run")
        caption = gr.Markdown(elem_id="ganzoo-edit-caption")
        gallery = gr.Gallery(label="candidates (best first)", columns=8, format="png",
                             elem_id="ganzoo-edit-candidates", interactive=False)
        with gr.Row():
            choice = gr.Number(0, precision=0, label="candidate", elem_id="ganzoo-edit-choice")
            frame = gr.Slider(0, FRAMES - 1, value=FRAMES - 1, step=1, label="morph frame",
                              elem_id="ganzoo-edit-frame")
            again = gr.Button("Start from this frame", elem_id="ganzoo-edit-restart")
        with gr.Row():
            current = gr.Image(type="pil", label="morph", format="png", interactive=False,
                               elem_id="ganzoo-edit-morph")
            moved = gr.Image(type="pil", label="the photo, edited", format="png",
                             interactive=False, elem_id="ganzoo-edit-transferred")

        from_seed.click(shown(lambda s: background(demo.start_from_seed(s))), [seed],
                        [state, colours, lines])
        project.click(shown(lambda p: background(demo.project(p))), [photo],
                      [state, colours, lines])
        run.click(shown(demo.run_edit), [state, colours, lines, starts],
                  [state, gallery, caption]).then(
            shown(demo.frame), [state, choice, frame], [current, moved])
        def pick(event):
            return event.index

        pick.__annotations__ = {"event": gr.SelectData}  # how gradio knows to pass the event
        gallery.select(pick, None, choice)
        for control in (choice, frame):
            control.change(shown(lambda s, c, f: demo.frame(s, c, f) if s and s.get(
                "candidates") is not None else (None, None)), [state, choice, frame],
                [current, moved])
        again.click(shown(lambda s, c, f: background(demo.restart(s, c, f))),
                    [state, choice, frame], [state, colours, lines])
    return demo
