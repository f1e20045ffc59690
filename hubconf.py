"""torch.hub entry points: ``torch.hub.load("ganzoo/ganzoo", "load", "dcgan-digits")``.

Everything ``ganzoo.load`` accepts works (registered weights names, Hub repo ids, folders);
``dcgan_digits`` is a shortcut for the weights that ship with ganzoo. ganzoo need not be
installed: in a checkout without its entry points, its own plugins register from ``plugins/``
(``ganzoo.default_plugins.FIRST_PARTY``).
"""

dependencies = ["torch", "torchvision", "pluggy", "attrs", "cattrs", "safetensors",
                "huggingface_hub"]


def load(name_or_path: str, *, revision: str | None = None, device: str = "cpu"):
    """A ready, eval-mode ganzoo model (see ``ganzoo.load``)."""
    import ganzoo

    return ganzoo.load(name_or_path, revision=revision, device=device)


def dcgan_digits(device: str = "cpu"):
    """DCGAN trained on the bundled 8x8 digits at 32x32 (the model in ganzoo's README)."""
    return load("dcgan-digits", device=device)
