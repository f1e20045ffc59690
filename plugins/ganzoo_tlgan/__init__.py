"""TL-GAN feature axes and latent-space editing (Guan 2018) as a ganzoo plugin.

This module only registers; the code (and torch) loads on first use.
"""

from __future__ import annotations

import ganzoo


@ganzoo.hookimpl
def register_editors(registry) -> None:
    registry.add(name="feature-axes", build="ganzoo_tlgan.axes:fit_axes",
                 commands={"fit": "ganzoo_tlgan.cli:fit", "apply": "ganzoo_tlgan.cli:apply"},
                 load="ganzoo_tlgan.axes:Axes.load",
                 summary="TL-GAN: linear feature axes in z, disentangled by Gram-Schmidt locks.")
    registry.add(name="interpolation", build="ganzoo.editing.latent:interpolation_grid",
                 commands={"interpolate": "ganzoo_tlgan.cli:interpolate"},
                 summary="Linear or spherical interpolation grids between seeds or latents.")
    registry.add(name="latent-arithmetic", build="ganzoo.editing.latent:arithmetic",
                 summary="Latent vector arithmetic a - b + c, each averaged over samples.")
    registry.add(name="attribute-vector",
                 build="ganzoo.editing.attributes:attribute_vector_from_images",
                 commands={"attribute": "ganzoo_tlgan.cli:attribute"},
                 summary="Mean encoded latent with an attribute minus mean without.")
    registry.add(name="projection", build="ganzoo.editing.projection:project",
                 commands={"project": "ganzoo_tlgan.cli:project"},
                 summary="Project real images onto the generator: optimise, encoder or hybrid.")
    registry.add(name="igan-brush", build="ganzoo.editing.manifold_edit:edit",
                 commands={"brush": "ganzoo_tlgan.cli:brush"},
                 summary="iGAN: colour/sketch/warp brushes -> ranked latents near z0; morph and "
                         "edit transfer onto the photo (ganzoo edit brush).")
    registry.add(name="latent-sphere", build="ganzoo.editing.sphere:sphere_map",
                 commands={"sphere": "ganzoo_tlgan.cli:sphere"},
                 summary="A map of a dataset on the latent sphere: TensorBoard projector files, "
                         "an offline page and a PNG (ganzoo edit sphere).")

