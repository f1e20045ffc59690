"""The conformance kit: each kind's promises are separate named checks."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.testing import assert_kind, check_kind, tiny_model


def failed(model) -> dict[str, str]:
    return {r.name: r.message for r in check_kind(model) if not r.passed}


@pytest.mark.parametrize("name", ["dcgan", "cgan", "pix2pix", "cyclegan", "stackgan"])
def test_every_first_party_model_keeps_its_kinds_promises(name):
    torch.manual_seed(0)
    model = tiny_model(name)
    results = check_kind(model)
    assert results and all(r.passed for r in results), [r for r in results if not r.passed]
    assert model.training  # put back in the mode it was in


def test_a_generator_that_ignores_z_fails_exactly_that_check():
    class IgnoresZ(type(tiny_model("dcgan"))):
        def generate(self, n, *, seed=None, z=None):
            return super().generate(n, seed=seed)  # draws from the seed, whatever z says

    torch.manual_seed(0)
    model = tiny_model("dcgan")
    model.__class__ = IgnoresZ
    assert set(failed(model)) == {"generate-honours-z"}
    with pytest.raises(AssertionError, match="generate-honours-z: generate\\(2, z=...\\) draws "
                                             "the same images for two different z"):
        assert_kind(model)


def test_one_failure_does_not_hide_the_others():
    class Broken(type(tiny_model("dcgan"))):
        def sample_latent(self, n, *, seed=None):
            return torch.zeros(n, self.z_dim)  # not seeded: every seed gives the same

        def generate(self, n, *, seed=None, z=None):
            return torch.full((n, 1, 4, 4), 2.0)  # out of range, and ignores z

    model = tiny_model("dcgan")
    model.__class__ = Broken
    assert set(failed(model)) == {"sample-latent-seeded", "generate-shape", "generate-honours-z"}


def test_a_translator_that_changes_the_size_fails_translate_keeps_size():
    class Crops(type(tiny_model("pix2pix"))):
        def translate(self, images, direction=None):
            return super().translate(images, direction)[..., :-1, :]

    model = tiny_model("pix2pix")
    model.__class__ = Crops
    assert set(failed(model)) == {"translate-keeps-size"}


def test_a_declared_input_the_generator_ignores_is_named():
    class Deaf(type(tiny_model("dcgan"))):
        def inputs(self):
            return (ganzoo.ContinuousInput(name="code", size=2),)

        def generate(self, n, *, seed=None, z=None, code=None):
            return super().generate(n, seed=seed, z=z)

    model = tiny_model("dcgan")
    model.__class__ = Deaf
    assert failed(model) == {"inputs-accepted": "declared input 'code' does not change the images"}
