"""The plugins that ship inside ganzoo, written exactly like third-party ones.

:data:`DEFAULT_PLUGINS` are modules of this package, registered after the entry-point plugins on
every load (``GANZOO_DISABLE_PLUGINS`` can still block one by its module name).

:data:`FIRST_PARTY` are the architecture plugins under ``plugins/`` that ganzoo's own
distribution declares as ``ganzoo`` entry points. When those entry points are absent (a source
checkout used without ``pip install``, or ``torch.hub.load``), they are registered from here
instead, so a checkout is never a zoo of zero architectures.
"""

from __future__ import annotations

DEFAULT_PLUGINS = ("ganzoo.default_plugins.core", "ganzoo.default_plugins.new_plugin")

# entry-point name -> module; the same table as [project.entry-points.ganzoo] in pyproject.toml
FIRST_PARTY = {
    "dcgan": "ganzoo_dcgan",
    "cgan": "ganzoo_cgan",
    "pix2pix": "ganzoo_pix2pix",
    "cyclegan": "ganzoo_cyclegan",
    "tlgan": "ganzoo_tlgan",
    "stackgan": "ganzoo_stackgan",
    "srgan": "ganzoo_srgan",
    "infogan": "ganzoo_infogan",
    "gan_mlp": "ganzoo_gan",
}
