"""StackGAN's networks (Zhang et al. 2017), after the authors' PyTorch code.

- **Conditioning augmentation** (CA): the text embedding φ_t → (μ, log σ²) by one linear layer;
  ĉ = μ + σ ⊙ ε with ε ~ N(0, I). Training adds λ · KL(N(μ, σ²) ‖ N(0, I)) to G's loss.
- **Stage-I generator**: [z, ĉ₀] → linear → 4×4 × (8·gen_width) → upsampling blocks (nearest ×2,
  3×3 conv, batch norm, ReLU), halving the width each time → 3×3 conv → tanh, at
  ``stage1_resolution``.
- **Stage-II generator**: the Stage-I image → 3×3 conv and two stride-2 convs (down to a quarter of
  its size, 4·gen_width channels); ĉ (its own CA) replicated spatially and joined; a 3×3 conv;
  ``residual_blocks`` residual blocks; upsampling blocks up to ``stage2_resolution``; tanh.
- **Discriminators** (one class, at either resolution): stride-2 4×4 convs down to 4×4, 3×3 convs
  bringing the width back to 8·disc_width when it grew past it (Stage-II at 256²); the embedding
  is compressed to N_d by a linear layer + LeakyReLU, replicated over the 4×4 map and joined to
  the image features; a 3×3 conv and a 4×4 conv give one logit per (image, text) pair.

The model's ``gen`` holds the whole inference path (text encoder, CA, Stage-I and, at stage 2,
Stage-II); at stage 2 the first three are frozen (no gradients, always in eval mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import torch
from torch import nn

import ganzoo
from ganzoo.nn.blocks import init_normal

from .config import StackGANConfig
from .matching import ImageEncoder
from .text import build_encoder, learn_words

FROZEN_AT_STAGE2 = ("text_encoder", "ca1", "stage1")


def up_block(in_width: int, out_width: int) -> nn.Sequential:
    """Nearest-neighbour ×2, 3×3 conv, batch norm, ReLU (the authors' ``upBlock``)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(in_width, out_width, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_width), nn.ReLU(True))


class ConditioningAugmentation(nn.Module):
    """φ_t → (ĉ, μ, log σ²) with ĉ = μ + exp(log σ² / 2) · ε."""

    def __init__(self, embedding_dim: int, condition_dim: int):
        super().__init__()
        self.fc = nn.Linear(embedding_dim, 2 * condition_dim)

    def forward(self, embedding: torch.Tensor, noise: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.fc(embedding).chunk(2, dim=1)
        if noise is None:
            noise = torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * noise, mu, logvar


class Stage1Generator(nn.Module):
    """``(z, ĉ₀)`` → a ``stage1_resolution`` image in [-1, 1]."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        width = cfg.gen_width * 8
        self.fc = nn.Sequential(nn.Linear(cfg.z_dim + cfg.condition_dim, width * 16, bias=False),
                                nn.BatchNorm1d(width * 16), nn.ReLU(True))
        self.width = width
        blocks = []
        for _ in range(int(math.log2(cfg.stage1_resolution)) - 2):
            blocks.append(up_block(width, max(1, width // 2)))
            width = max(1, width // 2)
        self.ups = nn.Sequential(*blocks)
        self.out = nn.Sequential(nn.Conv2d(width, cfg.channels, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = self.fc(torch.cat([condition, z], dim=1)).view(-1, self.width, 4, 4)
        return self.out(self.ups(x))


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(True),
                                  nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width))
        self.relu = nn.ReLU(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.body(x))


class Stage2Generator(nn.Module):
    """``(Stage-I image, ĉ)`` → a ``stage2_resolution`` image in [-1, 1]."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        ngf = cfg.gen_width
        self.encode = nn.Sequential(
            nn.Conv2d(cfg.channels, ngf, 3, 1, 1, bias=False), nn.ReLU(True),
            nn.Conv2d(ngf, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.Conv2d(ngf * 2, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True))
        self.joint = nn.Sequential(
            nn.Conv2d(ngf * 4 + cfg.condition_dim, ngf * 4, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ngf * 4), nn.ReLU(True))
        self.residual = nn.Sequential(*[ResidualBlock(ngf * 4) for _ in range(cfg.residual_blocks)])
        width, blocks = ngf * 4, []
        for _ in range(cfg.stage2_upsamplings):
            blocks.append(up_block(width, max(1, width // 2)))
            width = max(1, width // 2)
        self.ups = nn.Sequential(*blocks)
        self.out = nn.Sequential(nn.Conv2d(width, cfg.channels, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        features = self.encode(image)
        condition = condition[:, :, None, None].expand(-1, -1, *features.shape[2:])
        x = self.residual(self.joint(torch.cat([features, condition], dim=1)))
        return self.out(self.ups(x))


class Discriminator(nn.Module):
    """Matching-aware discriminator: one logit per (image, text embedding) pair.

    :meth:`features` encodes images once; :meth:`judge` scores those features with an embedding,
    so a real image is scored with its right and a wrong text from one encoding.
    """

    def __init__(self, cfg: StackGANConfig, resolution: int):
        super().__init__()
        ndf = cfg.disc_width
        width = ndf
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, ndf, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        for _ in range(int(math.log2(resolution)) - 3):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, True)]
            width *= 2
        while width > ndf * 8:  # Stage-II at 256²: 32·ndf → 16·ndf → 8·ndf, as in the paper
            layers += [nn.Conv2d(width, width // 2, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.LeakyReLU(0.2, True)]
            width //= 2
        self.encode = nn.Sequential(*layers)
        self.compress = nn.Sequential(nn.Linear(cfg.embedding_dim, cfg.disc_condition_dim),
                                      nn.LeakyReLU(0.2, True))
        self.logit = nn.Sequential(
            nn.Conv2d(width + cfg.disc_condition_dim, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, 1, 4, 4, 0))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.encode(images)

    def judge(self, features: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        text = self.compress(embedding.to(features.dtype))
        text = text[:, :, None, None].expand(-1, -1, *features.shape[2:])
        return self.logit(torch.cat([features, text], dim=1)).flatten()

    def forward(self, images: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        return self.judge(self.features(images), embedding)


class TextToImage(nn.Module):
    """The inference path: text encoder → CA → Stage-I (→ CA → Stage-II at stage 2)."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        self.stage = cfg.stage
        self.text_encoder = build_encoder(cfg)
        self.ca1 = ConditioningAugmentation(cfg.embedding_dim, cfg.condition_dim)
        self.stage1 = Stage1Generator(cfg)
        if cfg.stage == 2:
            self.ca2 = ConditioningAugmentation(cfg.embedding_dim, cfg.condition_dim)
            self.stage2 = Stage2Generator(cfg)
            for name in FROZEN_AT_STAGE2:
                getattr(self, name).requires_grad_(False)

    def train(self, mode: bool = True) -> TextToImage:
        super().train(mode)
        if self.stage == 2:  # the frozen Stage-I keeps its batch-norm statistics
            for name in FROZEN_AT_STAGE2:
                getattr(self, name).eval()
        return self

    def low_resolution(self, embedding, z, noise=None):
        """Stage-I: ``(image, μ, log σ²)``."""
        condition, mu, logvar = self.ca1(embedding, noise)
        return self.stage1(z, condition), mu, logvar

    def high_resolution(self, image, embedding, noise=None):
        """Stage-II on a Stage-I image: ``(image, μ, log σ²)``."""
        condition, mu, logvar = self.ca2(embedding, noise)
        return self.stage2(image, condition), mu, logvar

    def forward(self, embedding: torch.Tensor, z: torch.Tensor, noise1: torch.Tensor | None = None,
                noise2: torch.Tensor | None = None) -> torch.Tensor:
        image, _, _ = self.low_resolution(embedding, z, noise1)
        if self.stage == 2:
            image, _, _ = self.high_resolution(image, embedding, noise2)
        return image


class _TextToImageExport(nn.Module):
    """:class:`TextToImage` without its text encoder, for ONNX: only the generator's weights."""

    def __init__(self, gen: TextToImage):
        super().__init__()
        self.gen = gen

    def forward(self, embedding: torch.Tensor, z: torch.Tensor, noise1: torch.Tensor,
                noise2: torch.Tensor | None = None) -> torch.Tensor:
        return self.gen(embedding, z, noise1, noise2)


EXAMPLE_WORDS = ("red", "small", "yellow", "long", "white", "short")


class StackGAN(ganzoo.TextToImage):
    architecture = "stackgan"
    generator_components = ("gen",)

    def __init__(self, config: StackGANConfig):
        super().__init__(config)
        self.gen = TextToImage(config)
        self.disc = Discriminator(config, config.resolution)
        # The image side of the joint embedding the text encoder is pre-trained with
        # (matching.py): only needed to train, so it is kept with the discriminator, and it keeps
        # PyTorch's default init.
        matcher = (ImageEncoder(config.channels, config.resolution, config.embedding_dim)
                   if config.stage == 1 and config.text_encoder == "captions" else None)
        # N(0, 0.02) convs and linear layers, N(1, 0.02) batch norms, as the authors' networks.
        # The text side (encoder, CA) keeps PyTorch's default init: at N(0, 0.02) the text would
        # start about a hundred times weaker than the CA noise, and G learns to read it slowly.
        for network in (self.gen.stage1, self.disc, *([self.gen.stage2] if config.stage == 2
                                                       else [])):
            network.apply(init_normal)
        if matcher is not None:
            self.disc.matcher = matcher

    # -- text ---------------------------------------------------------------------------------
    def learn_words(self, captions: Sequence[str]) -> bool:
        """Add the new words of ``captions`` to the config's vocabulary; True if any were new."""
        words = learn_words(self.config.vocabulary, list(captions), self.config.max_words)
        if words == self.config.vocabulary:
            return False
        self.config = attrs.evolve(self.config, vocabulary=words)
        return True

    def embed_batch(self, batch: dict) -> torch.Tensor:
        """The text embeddings of a training batch (its captions or precomputed embeddings)."""
        return self.gen.text_encoder.encode_batch(batch, self.config.vocabulary)

    def embed_text(self, captions: Sequence[str], *, unknown_words: str = "error"
                   ) -> torch.Tensor:
        if isinstance(captions, str):
            captions = [captions]
        if unknown_words not in ("error", "ignore"):
            raise ValueError(f"unknown_words must be 'error' or 'ignore', got {unknown_words!r}")
        return self.gen.text_encoder.encode_text(list(captions), self.config.vocabulary,
                                                 strict=unknown_words == "error")

    def embeddings_tensor(self, embeddings, n: int) -> torch.Tensor:
        embeddings = torch.as_tensor(embeddings, dtype=torch.float32, device=self.device)
        want = self.config.embedding_dim
        if embeddings.dim() != 2 or embeddings.shape[1] != want:
            raise ValueError(f"embeddings must have shape [N, {want}] (embedding_dim = {want}), "
                             f"got {list(embeddings.shape)}")
        if len(embeddings) != n:
            raise ValueError(f"got {len(embeddings)} embeddings for n = {n} images")
        if not torch.isfinite(embeddings).all():
            raise ValueError("embeddings hold NaN or infinite values")
        return embeddings

    @classmethod
    def usage(cls, load_name: str, config: StackGANConfig | None = None) -> str:
        """The card's snippet: captions in the model's vocabulary, or (a model trained on
        precomputed embeddings) an embedding tensor."""
        if config is not None and config.text_encoder == "embeddings":
            dim = config.embedding_dim
            return (f'import torch\n\nimport ganzoo\n\nmodel = ganzoo.load("{load_name}")\n'
                    f"# stand-in: the dataset's text embeddings [4, {dim}] of four captions\n"
                    f"embeddings = torch.randn(4, {dim})\n"
                    "images = model.generate(4, seed=0, embeddings=embeddings)\n")
        return super().usage(load_name, config)

    @classmethod
    def example_caption(cls, config: StackGANConfig | None = None) -> str:
        words = config.vocabulary if config is not None else ()
        return " ".join(words[:4]) if words else super().example_caption(config)

    # -- sampling -----------------------------------------------------------------------------
    def sample_latent(self, n: int, *, seed: int | None = None) -> torch.Tensor:
        """``n`` latent vectors z ~ N(0, I), shaped ``[n, z_dim]``."""
        generator = self.seeded(seed, self.device)
        return torch.randn(n, self.config.z_dim, device=self.device, generator=generator)

    def generate(self, n: int, *, seed: int | None = None, text: Sequence[str] | None = None,
                 embeddings=None, z: torch.Tensor | None = None,
                 unknown_words: str = "error") -> torch.Tensor:
        """``n`` images, one per caption in ``text`` or per row of ``embeddings`` ``[n, D]``.

        ``seed`` fixes z and the conditioning-augmentation noise. Captions are tokenised with the
        vocabulary the model was trained with; an unknown word is a ValueError naming it
        (``unknown_words="ignore"`` leaves such words out instead).
        """
        if (text is None) == (embeddings is None):
            raise ValueError("StackGAN draws images of captions: give text=[...] (one image per "
                             "caption) or embeddings= an [n, D] tensor, exactly one of them")
        if text is not None:
            if isinstance(text, str):
                text = [text]
            if len(text) != n:
                raise ValueError(f"got {len(text)} captions for n = {n} images")
            embedding = self.embed_text(list(text), unknown_words=unknown_words)
        else:
            embedding = self.embeddings_tensor(embeddings, n)
        return self._draw(embedding, seed=seed, z=z)

    def _draw(self, embedding: torch.Tensor, *, seed: int | None, z: torch.Tensor | None = None
              ) -> torch.Tensor:
        n, cfg = len(embedding), self.config
        generator = self.seeded(seed, self.device)
        noise = torch.randn(n, cfg.z_dim + 2 * cfg.condition_dim, device=self.device,
                            generator=generator)
        z = noise[:, :cfg.z_dim] if z is None else z.to(self.device)
        noise1 = noise[:, cfg.z_dim:cfg.z_dim + cfg.condition_dim]
        noise2 = noise[:, cfg.z_dim + cfg.condition_dim:]
        return self.gen(embedding, z, noise1, noise2)

    def onnx_export_spec(self, *, direction: str | None = None, batch: int | None = None):
        """ONNX export of the text-to-image path after the text encoder: inputs ``embedding``
        ``[batch, embedding_dim]`` (the encoder's output: ``model.embed_text(captions)``, or a
        dataset's precomputed embeddings), ``z`` ``[batch, z_dim]`` and the conditioning
        augmentation's noise ``noise1`` (and at stage 2 ``noise2``) ``[batch, condition_dim]``,
        all N(0, I); output the image in [-1, 1]. Tokenising captions stays outside the graph."""
        from ganzoo.apps.export import DynamicAxis, ExportError, OnnxSpec

        if direction is not None:
            raise ExportError(f"direction {direction!r}: StackGAN has a single text-to-image "
                              "generator; a direction is only for two-way models such as CycleGAN")
        cfg = self.config
        traced, checked = (2, (3, 1)) if batch is None else (batch, (batch,))
        axis = {} if batch is not None else {0: DynamicAxis("batch")}
        names = ("embedding", "z", "noise1", *(("noise2",) if cfg.stage == 2 else ()))
        widths = (cfg.embedding_dim, cfg.z_dim, cfg.condition_dim,
                  *((cfg.condition_dim,) if cfg.stage == 2 else ()))
        rng = torch.Generator().manual_seed(0)

        def inputs(n: int) -> tuple[torch.Tensor, ...]:
            return tuple(torch.randn(n, w, generator=rng).to(self.device) for w in widths)

        return OnnxSpec(
            module=_TextToImageExport(self.gen), input_names=names,
            example_inputs=inputs(traced), dynamic_axes={name: axis for name in names},
            check_inputs=tuple(inputs(n) for n in checked),
            reference=lambda *args: self.gen(*args),
            doc=f"StackGAN stage {cfg.stage}: text embedding [batch, {cfg.embedding_dim}], z "
                f"[batch, {cfg.z_dim}] and conditioning noise [batch, {cfg.condition_dim}] "
                f"{'x2 ' if cfg.stage == 2 else ''}~ N(0, I) -> image [batch, {cfg.channels}, "
                f"{cfg.resolution}, {cfg.resolution}] in [-1, 1]. Captions are encoded outside "
                "the graph (ganzoo: model.embed_text).",
            metadata={"embedding_dim": str(cfg.embedding_dim), "z_dim": str(cfg.z_dim),
                      "condition_dim": str(cfg.condition_dim), "stage": str(cfg.stage)})

    def preview(self, n: int, *, seed: int, batch: dict | None = None) -> torch.Tensor:
        """Images for the held-out items of ``batch`` (their captions or embeddings)."""
        if batch is None:
            raise ValueError("StackGAN previews need a batch of held-out captions or embeddings")
        embedding = self.embed_batch(batch)[:n]
        return self._draw(embedding, seed=seed)

    def example_batch(self, batch_size: int, *, generator: torch.Generator | None = None) -> dict:
        cfg = self.config
        shape = (batch_size, cfg.channels, cfg.resolution, cfg.resolution)
        picks = torch.randint(0, len(EXAMPLE_WORDS), (batch_size,), generator=generator).tolist()
        batch = {"image": torch.rand(shape, generator=generator) * 2 - 1,
                 "embedding": torch.randn(batch_size, cfg.embedding_dim, generator=generator),
                 "caption": [f"a {EXAMPLE_WORDS[i]} bird" for i in picks]}
        # The text its encoder reads: precomputed embeddings, or raw captions.
        del batch["caption" if cfg.text_encoder == "embeddings" else "embedding"]
        return batch


def build(config: StackGANConfig) -> StackGAN:
    return StackGAN(config)
