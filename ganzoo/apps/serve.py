"""``ganzoo serve``: a local demo page (Gradio) for one model.

:func:`build_app` makes the page for a model's kind (:mod:`ganzoo.nn.kinds`):

- latent generators: a seed slider, an image count and a Generate button, and a control per
  declared input (a class choice for conditional models, sliders for InfoGAN-style codes);
- with feature axes (``axes``, read by a registered editor's ``load``; see docs/editing.md): one slider per axis moving the sampled
  latents along it, and features to lock (moves stay orthogonal to the locked axes);
- image-to-image models: upload an image, get its translation (two-way models: a direction);
- text-to-image models: captions (one per line), each drawn for a few seeds.

:func:`launch` serves it on loopback (``127.0.0.1``) by default, without share links or usage
analytics, so it runs offline. Gradio is the optional ``serve`` extra.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ganzoo.base.errors import GanzooError
from ganzoo.base.extras import require

#: Pictures smaller than this (pixels, longer side) are enlarged by a whole factor for the page.
DISPLAY_SIDE = 512
MAX_COUNT = 16
MAX_SEED = 2**31 - 1
AXIS_RANGE = 3.0
EVERY_CLASS = "every class (0, 1, 2, ...)"
EVERY_VALUE = "drawn per image"


class ServeError(GanzooError):
    """A model or axes that the demo page cannot show."""


def _gradio():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio reads it
    return require("gradio", "serve", what="the demo page", error=ServeError)


def to_pil(images, *, nrow: int | None = None):
    """A PIL image of ``images`` ``[N, C, H, W]`` in [-1, 1] (a grid when N > 1), enlarged by
    a whole factor (nearest neighbour) to at most :data:`DISPLAY_SIDE` pixels when small."""
    from PIL import Image

    from ganzoo.base.images import grid

    tile = grid(images, nrow=nrow, padding=2 if len(images) > 1 else 0)
    array = tile.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    scale = max(1, DISPLAY_SIDE // max(image.size))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


class Demo:
    """The page's callbacks, usable without a browser: ``sample``, ``caption``, ``translate``.

    What the page shows follows the model's kind (:mod:`ganzoo.nn.kinds`): a latent generator gets
    a control per declared input (:meth:`~ganzoo.LatentGenerator.inputs`: a choice for a
    discrete one, a slider per value of a continuous one), a text-to-image model a caption box,
    a translator an upload and its directions.
    """

    def __init__(self, model, axes=None, *, name: str | None = None):
        from ganzoo.nn.kinds import LatentGenerator, TextToImage, Translator, describe, task_of

        self.model = model.eval()
        self.name = name or model.architecture
        self.task = task_of(model)
        self.translator = isinstance(model, Translator)
        self.text = isinstance(model, TextToImage)
        self.inputs = () if self.text or self.translator else model.inputs()
        self.axes = axes
        self._lock = threading.Lock()  # one model, many browser tabs: run one call at a time
        if not isinstance(model, (LatentGenerator, Translator)):
            raise ServeError(f"{self.name} is {describe(model)}; the demo page shows latent "
                             "generators (unconditional, conditional, text-to-image) and "
                             "translators")
        if axes is not None:
            if self.text or self.translator:
                article = "an" if self.task[0] in "aeiou" else "a"
                raise ServeError(f"axes move a generator's latents; {self.name} is {article} "
                                 f"{self.task} model")
            axes.check_generator(model, name)

    @property
    def classes(self) -> int:
        return next(i.count for i in self.inputs if i.name == "labels")

    def sample(self, seed: int, count: int, label: str | None = None,
               moves: dict[str, float] | None = None, lock: list[str] | None = None,
               values: dict[str, Any] | None = None):
        """A PIL grid of ``count`` images for ``seed`` (moved along the axes by ``moves``).

        ``label`` picks the ``labels`` input (a class); ``values`` the other declared inputs by
        name (a choice: an int; a continuous input: its values). Inputs not given are the
        model's defaults."""
        import torch

        from ganzoo.nn.kinds import DiscreteInput

        seed, count = int(seed), int(count)
        if not 1 <= count <= MAX_COUNT:
            raise ServeError(f"count {count}: expected 1 to {MAX_COUNT}")
        if not 0 <= seed <= MAX_SEED:
            raise ServeError(f"seed {seed}: expected 0 to {MAX_SEED}")
        chosen = dict(values or {})
        if label is not None:
            chosen["labels"] = label
        kwargs: dict[str, Any] = {}
        for declared in self.inputs:
            value = chosen.get(declared.name)
            if value in (None, EVERY_CLASS, EVERY_VALUE):
                continue
            if isinstance(declared, DiscreteInput):
                try:
                    value = int(value)
                except ValueError:
                    value = -1
                if not 0 <= value < declared.count:
                    raise ServeError(f"{declared.name} {chosen[declared.name]!r}: expected 0 to "
                                     f"{declared.count - 1}")
                kwargs[declared.name] = [value] * count
            else:
                row = torch.as_tensor(value, dtype=torch.float32).reshape(1, declared.size)
                kwargs[declared.name] = row.expand(count, -1).to(self.model.device)
        with self._lock, torch.no_grad():
            if moves and any(moves.values()):
                z = self.axes.edit(self.model.sample_latent(count, seed=seed), moves, lock or ())
                kwargs["z"] = z
            images = self.model.generate(count, seed=seed, **kwargs)
        return to_pil(images)

    def caption(self, text: str, seed: int, count: int):
        """A PIL grid: one row per caption (a line of ``text``), ``count`` images each."""
        import torch

        captions = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if not captions:
            raise ServeError("write a caption first (one per line)")
        seed, count = int(seed), int(count)
        if not 1 <= count * len(captions) <= MAX_COUNT:
            raise ServeError(f"{len(captions)} caption(s) x {count} image(s): at most "
                             f"{MAX_COUNT} images at once")
        with self._lock, torch.no_grad():
            try:
                images = self.model.generate(count * len(captions), seed=seed,
                                             text=[c for c in captions for _ in range(count)])
            except ValueError as exc:  # e.g. a word the model never saw
                raise ServeError(str(exc)) from None
        return to_pil(images, nrow=count)

    def translate(self, image, direction: str | None = None):
        """The translation of a PIL ``image`` as a PIL image (same size)."""
        import torch

        if image is None:
            raise ServeError("upload an image first")
        with self._lock, torch.no_grad():
            try:
                output = self.model.translate(image, direction=direction)
            except GanzooError as exc:
                raise ServeError(str(exc)) from None
        return to_pil(output)


def load_axes(name_or_path: str, *, editor: str = "feature-axes"):
    """Feature axes from a folder or Hub repo id, read by the registered ``editor``'s ``load``
    (TL-GAN's ``feature-axes`` by default; `ganzoo list editors` shows what is installed)."""
    import ganzoo.plugin.manager as plugins
    from ganzoo.base.errors import UnknownNameError
    from ganzoo.plugin.registry import load_ref

    try:
        entry = plugins.registry("editors").get(editor)
    except UnknownNameError:
        raise ServeError(f"feature axes need the {editor!r} editor, which no installed plugin "
                         "registers (the ganzoo_tlgan plugin does; `ganzoo plugins` lists what "
                         "is installed)") from None
    if entry.load is None:
        raise ServeError(f"editor {editor!r} ({entry.plugin}) reads no saved axes (it registers "
                         "no load=)")
    return load_ref(entry.load)(name_or_path)


def build_app(model, axes=None, *, name: str | None = None):
    """A ``gradio.Blocks`` page for ``model`` (and feature ``axes``, from :func:`load_axes`);
    launch it with :func:`launch`. ``name`` titles the page."""
    from ganzoo.nn.kinds import DiscreteInput

    gr = _gradio()
    demo = Demo(model, axes, name=name)

    def shown(function):
        """Errors a user can fix appear on the page as a message, not a stack trace."""
        def call(*args):
            try:
                return function(*args)
            except GanzooError as exc:
                raise gr.Error(str(exc)) from None
        return call

    with gr.Blocks(title=f"ganzoo: {demo.name}", analytics_enabled=False) as app:
        gr.Markdown(f"## {demo.name}\n{model.architecture}, {demo.task} "
                    f"({sum(p.numel() for p in model.parameters()):,} parameters)")
        if demo.translator:
            with gr.Row():
                source = gr.Image(type="pil", sources=["upload"], label="input",
                                  elem_id="ganzoo-input", format="png")
                output = gr.Image(type="pil", label="translation", elem_id="ganzoo-output",
                                  format="png", interactive=False,
                                  buttons=["download", "fullscreen"])
            inputs = [source]
            if len(model.directions) > 1:
                directions = list(model.directions)
                inputs.append(gr.Radio(directions, value=directions[0], elem_id="ganzoo-direction",
                                       label="direction (ab: A->B, ba: B->A)"))
            button = gr.Button("Translate", variant="primary", elem_id="ganzoo-run")
            button.click(shown(demo.translate), inputs, output)
            source.upload(shown(demo.translate), inputs, output)
            return app
        if demo.text:
            with gr.Row():
                with gr.Column(scale=1):
                    text = gr.Textbox(label="captions (one per line)", lines=3,
                                      elem_id="ganzoo-text")
                    seed = gr.Slider(0, 999, value=0, step=1, label="seed", elem_id="ganzoo-seed")
                    count = gr.Slider(1, 8, value=4, step=1, label="images per caption",
                                      elem_id="ganzoo-count")
                    button = gr.Button("Generate", variant="primary", elem_id="ganzoo-run")
                output = gr.Image(type="pil", label="samples", elem_id="ganzoo-output",
                                  format="png", interactive=False, scale=2,
                                  buttons=["download", "fullscreen"])
            button.click(shown(demo.caption), [text, seed, count], output)
            return app
        with gr.Row():
            with gr.Column(scale=1):
                seed = gr.Slider(0, 999, value=0, step=1, label="seed", elem_id="ganzoo-seed")
                count = gr.Slider(1, MAX_COUNT, value=1, step=1, label="images",
                                  elem_id="ganzoo-count")
                label, choices, codes = None, {}, {}
                for declared in demo.inputs:  # a control per declared input
                    if isinstance(declared, DiscreteInput) and declared.name == "labels":
                        label = gr.Dropdown([EVERY_CLASS, *map(str, range(declared.count))],
                                            value=EVERY_CLASS, label="class",
                                            elem_id="ganzoo-label")
                    elif isinstance(declared, DiscreteInput):
                        choices[declared.name] = gr.Dropdown(
                            [EVERY_VALUE, *map(str, range(declared.count))], value=EVERY_VALUE,
                            label=declared.summary or declared.name,
                            elem_id=f"ganzoo-input-{declared.name}")
                    else:
                        middle = (declared.low + declared.high) / 2
                        codes[declared.name] = [gr.Slider(
                            declared.low, declared.high, value=middle, step=0.05,
                            label=f"{declared.summary or declared.name} [{i}]",
                            elem_id=f"ganzoo-input-{declared.name}-{i}")
                            for i in range(declared.size)]
                sliders, lock = {}, None
                if axes is not None:
                    gr.Markdown("**feature axes**: move the latents along each axis")
                    sliders = {n: gr.Slider(-AXIS_RANGE, AXIS_RANGE, value=0.0, step=0.1,
                                            label=n, elem_id=f"ganzoo-axis-{i}")
                               for i, n in enumerate(axes.names)}
                    lock = gr.CheckboxGroup(list(axes.feature_names), label="lock (keep these "
                                            "features while moving)", elem_id="ganzoo-lock")
                button = gr.Button("Generate", variant="primary", elem_id="ganzoo-run")
            output = gr.Image(type="pil", label="samples", elem_id="ganzoo-output",
                              format="png", interactive=False, scale=2,
                              buttons=["download", "fullscreen"])
        controls = [c for c in (label, *choices.values(), *(s for row in codes.values()
                                                             for s in row),
                                *sliders.values(), lock) if c is not None]

        def sample(values: dict):  # gradio passes {component: value} for a set of inputs
            chosen = {n: values[c] for n, c in choices.items()}
            chosen |= {n: [float(values[s]) for s in row] for n, row in codes.items()}
            return demo.sample(values[seed], values[count],
                               values[label] if label is not None else None,
                               {n: float(values[s]) for n, s in sliders.items()},
                               values[lock] if lock is not None else [], chosen)

        inputs = {seed, count, *controls}
        button.click(shown(sample), inputs, output)
        for control in controls:
            control.change(shown(sample), inputs, output)
    if demo.task == "unconditional":  # iGAN editing moves z alone
        from ganzoo.editing.manifold_edit import find_critic
        from ganzoo.apps.serve_editing import add_editing_tab

        add_editing_tab(app, model, critic=find_critic(model))
    return app


#: The largest upload the page accepts (an image to translate or edit); gradio refuses larger ones
#: with HTTP 413 before they reach ganzoo, and ganzoo's image reader caps the pixel count too.
MAX_UPLOAD_BYTES = 32 * 1024 * 1024


def launch(app, *, host: str = "127.0.0.1", port: int | None = None, block: bool = True,
           announce=None) -> str:
    """Serve ``app`` at ``http://host:port`` (no share link, no analytics); returns the URL.

    ``block=False`` returns at once with the server running in a thread (``app.close()`` stops
    it), as the tests do; ``block=True`` serves until Ctrl-C. ``announce(message)`` is called
    with the URL once the server listens.
    """
    _gradio()
    try:
        _, url, _ = app.launch(server_name=host, server_port=port, share=False,
                               inbrowser=False, prevent_thread_lock=True, quiet=True,
                               ssr_mode=False, pwa=False, mcp_server=False,
                               enable_monitoring=False, footer_links=[],
                               max_file_size=MAX_UPLOAD_BYTES)
    except OSError as exc:  # the port is taken, or the host is not an address of this computer
        where = f"{host}:{port}" if port else f"{host} (ports 7860 and up)"
        raise ServeError(f"cannot serve on {where}: {exc}") from None
    if announce is not None:
        announce(f"serving {app.title} at {url} (Ctrl-C stops it)")
    if block:
        try:
            app.block_thread()
        finally:
            app.close()
    return url
