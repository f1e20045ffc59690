"""A third-party-style plugin whose editor brings its own `ganzoo edit` verb (tests only)."""

from __future__ import annotations

import click

import ganzoo


class BrightenPlugin:
    @ganzoo.hookimpl
    def register_editors(self, registry) -> None:
        registry.add(name="brightness", build="editor_plugin:brighten_images",
                     commands={"brighten": "editor_plugin:brighten"},
                     summary="Shift a generator's images towards white.")


def brighten_images(images, amount: float):
    return (images + 2 * amount).clamp(-1, 1)


@click.command()
@click.argument("model")
@click.option("--amount", default=0.25, show_default=True, type=float, help="0 to 1.")
@click.option("-o", "--output", required=True, help="PNG grid to write.")
def brighten(model, amount, output) -> None:
    """Draw 4 images of MODEL, brightened by AMOUNT."""
    import torch

    from ganzoo.base.images import save_grid

    net = ganzoo.load(model)
    with torch.no_grad():
        images = brighten_images(net.generate(4, seed=0), amount)
    click.echo(f"wrote {save_grid(images, output)}")


class ClashPlugin:
    @ganzoo.hookimpl
    def register_editors(self, registry) -> None:
        registry.add(name="my-axes", build="editor_plugin:brighten_images",
                     commands={"fit": "editor_plugin:brighten"})


class NotAClickCommand:
    @ganzoo.hookimpl
    def register_editors(self, registry) -> None:
        registry.add(name="raw", build="editor_plugin:brighten_images",
                     commands={"raw": "editor_plugin:brighten_images"})
