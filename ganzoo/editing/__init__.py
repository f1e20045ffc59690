"""Latent-space editing tools that work with any unconditional ganzoo generator.

- :mod:`ganzoo.editing.latent`: linear and spherical interpolation, interpolation grids, latent
  vector arithmetic averaged over several samples.
- :mod:`ganzoo.editing.measure`: stroke thickness, slant and size of digit images.
- :mod:`ganzoo.editing.projection`: projecting real images onto a generator's manifold (iGAN):
  optimisation, a trained encoder, and the hybrid of both.
- :mod:`ganzoo.editing.attributes`: attribute vectors (mean latent with minus without).
- iGAN's interactive loop (Zhu et al. 2016): :mod:`ganzoo.editing.constraints` (colour, sketch and
  warp brushes; the HOG-style edge response), :mod:`ganzoo.editing.manifold_edit` (the batched
  search in z and the ranked candidates), :mod:`ganzoo.editing.morph`,
  :mod:`ganzoo.editing.transfer` (the edit carried onto the photo: optical flow + a local affine
  colour model) and :mod:`ganzoo.editing.session` (all of it on one photo, as the CLI runs it).
- :mod:`ganzoo.editing.sphere`: a map of a dataset on the latent sphere (projector files, an
  offline page, a PNG) and the k-NN accuracy of its labels.

TL-GAN feature axes live in the ``ganzoo_tlgan`` plugin. Importing this package is cheap; each
module imports torch itself.
"""
