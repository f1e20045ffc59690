"""Text encoders: what turns a caption (or a dataset's precomputed embedding) into the text
embedding that conditioning augmentation reads.

- ``"embeddings"`` (:class:`PrecomputedEmbeddings`): the dataset ships the embeddings (CUB's
  char-CNN-RNN); no parameters; captions cannot be encoded.
- ``"captions"`` (:class:`BagOfWords`): a trainable word-embedding bag (mean of the caption's word
  vectors, then a linear layer and LeakyReLU, L2-normalised and scaled by √D). The vocabulary is
  learnt from the training captions as they are seen (:func:`learn_words`) and kept in the model
  config. It is pre-trained as a joint image-text embedding at the start of Stage I and then
  frozen (:mod:`.matching`, ``[train] text_pretrain_steps``).
- ``"sentence"`` (:class:`SentenceEncoder`): a frozen sentence-transformers model from a local
  folder (or a name its cache knows); optional dependency ``ganzoo[sentence]``.

Every encoder has ``encode_batch(batch)`` (training batches) and ``encode_text(captions)``.
"""

from __future__ import annotations

import difflib
import re

import torch
from torch import nn

from ganzoo.base.errors import GanzooError
from ganzoo.base.extras import require

from .config import StackGANConfig
from .matching import unit_scale

PAD = 0  # token id 0 pads captions; word i of the vocabulary is token i + 1
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
EXTRA = "sentence"


def words_of(caption: str) -> list[str]:
    """Lower-case words of ``caption`` (punctuation dropped): the tokeniser of ``"captions"``."""
    return _WORD.findall(caption.lower())


def learn_words(vocabulary: tuple[str, ...], captions: list[str], max_words: int
                ) -> tuple[str, ...]:
    """``vocabulary`` extended by the new words of ``captions``, in the order they appear."""
    known = set(vocabulary)
    new = []
    for caption in captions:
        for word in words_of(caption):
            if word not in known:
                known.add(word)
                new.append(word)
    if not new:
        return vocabulary
    if len(vocabulary) + len(new) > max_words:
        raise GanzooError(f"the training captions hold more than [model] max_words = {max_words} "
                          f"distinct words (e.g. {new[-1]!r}); raise max_words")
    return (*vocabulary, *new)


class PrecomputedEmbeddings(nn.Module):
    """The dataset's own embeddings, passed through unchanged."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        self.dim = cfg.embedding_dim

    def encode_batch(self, batch: dict, vocabulary: tuple[str, ...] = ()) -> torch.Tensor:
        if "embedding" not in batch:
            raise GanzooError("[model] text_encoder = \"embeddings\" needs a dataset that gives "
                              "precomputed text embeddings (items with \"embedding\"); use "
                              "text_encoder = \"captions\" for raw captions")
        return batch["embedding"].float()

    def encode_text(self, captions: list[str], vocabulary: tuple[str, ...], *,
                    strict: bool = True) -> torch.Tensor:
        raise ValueError("this model was trained on precomputed text embeddings (text_encoder = "
                         "\"embeddings\") and cannot encode captions; give embeddings= (in the "
                         "CLI, --embeddings FILE with an [N, D] array) instead of text")


class BagOfWords(nn.Module):
    """Mean of learnt word vectors, then ``Linear`` + LeakyReLU to ``embedding_dim``, then
    :func:`~.matching.unit_scale` (unit length × √D). Without it the output is ~0.1-0.2 per
    component and the text reaches CA far weaker than CA's own noise: G ignores it
    (docs/stackgan.md, "What was wrong")."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        self.dim = cfg.embedding_dim
        self.words = nn.EmbeddingBag(cfg.max_words + 1, cfg.embedding_dim, mode="mean",
                                     padding_idx=PAD)
        self.project = nn.Sequential(nn.Linear(cfg.embedding_dim, cfg.embedding_dim),
                                     nn.LeakyReLU(0.2))

    def tokens(self, captions: list[str], vocabulary: tuple[str, ...], *, strict: bool
               ) -> torch.Tensor:
        """``[N, L]`` token ids (0-padded). ``strict``: unknown words are a ValueError naming
        them; otherwise they are left out (during training, past the vocabulary's capacity)."""
        index = {w: i + 1 for i, w in enumerate(vocabulary)}
        rows = []
        for caption in captions:
            if not isinstance(caption, str):
                raise ValueError(f"captions must be strings, got {caption!r}")
            words = words_of(caption)
            unknown = [w for w in words if w not in index]
            if unknown and strict:
                hint = difflib.get_close_matches(unknown[0], vocabulary, n=3)
                near = f" (close: {', '.join(hint)})" if hint else ""
                shown = ", ".join(vocabulary[:40]) + (" ..." if len(vocabulary) > 40 else "")
                raise ValueError(f"caption {caption!r}: word {unknown[0]!r} is not in the "
                                 f"model's vocabulary{near}; it knows {len(vocabulary)} words: "
                                 f"{shown}")
            ids = [index[w] for w in words if w in index]
            if not ids:
                raise ValueError(f"caption {caption!r} has no word the model knows")
            rows.append(ids)
        width = max(len(r) for r in rows)
        return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long,
                            device=self.words.weight.device)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return unit_scale(self.project(self.words(tokens)))

    def encode_batch(self, batch: dict, vocabulary: tuple[str, ...]) -> torch.Tensor:
        return self(self.tokens(captions_of(batch), vocabulary, strict=False))

    def encode_text(self, captions: list[str], vocabulary: tuple[str, ...], *,
                    strict: bool = True) -> torch.Tensor:
        return self(self.tokens(captions, vocabulary, strict=strict))


class SentenceEncoder(nn.Module):
    """A frozen sentence-transformers model; its weights stay outside the bundle."""

    def __init__(self, cfg: StackGANConfig):
        super().__init__()
        self.dim = cfg.embedding_dim
        self.source = cfg.sentence_model
        sentence_transformers = require("sentence_transformers", "sentence",
                                        what='text_encoder = "sentence"',
                                        package="sentence-transformers")
        model = sentence_transformers.SentenceTransformer(self.source, device="cpu")
        found = model.get_sentence_embedding_dimension()
        if found != self.dim:
            raise GanzooError(f"sentence_model {self.source!r} gives {found}-d embeddings but "
                              f"[model] embedding_dim = {self.dim}; set embedding_dim = {found}")
        model.requires_grad_(False)
        self._model = [model]  # a list: not a child module, so not saved in the bundle
        self.register_buffer("anchor", torch.empty(0), persistent=False)  # follows .to(device)

    def encode_text(self, captions: list[str], vocabulary: tuple[str, ...] = (), *,
                    strict: bool = True) -> torch.Tensor:
        for caption in captions:
            if not isinstance(caption, str):
                raise ValueError(f"captions must be strings, got {caption!r}")
        with torch.no_grad():
            out = self._model[0].encode(list(captions), convert_to_tensor=True)
        return out.float().to(self.anchor.device)

    def encode_batch(self, batch: dict, vocabulary: tuple[str, ...] = ()) -> torch.Tensor:
        return self.encode_text(captions_of(batch))


def captions_of(batch: dict) -> list[str]:
    if "caption" not in batch:
        raise GanzooError("this text encoder reads raw captions, but the dataset gives none "
                          "(items without \"caption\"); for CUB set [data] captions = true "
                          "(needs text_c10/), or use text_encoder = \"embeddings\"")
    return list(batch["caption"])


def build_encoder(cfg: StackGANConfig) -> nn.Module:
    return {"embeddings": PrecomputedEmbeddings, "captions": BagOfWords,
            "sentence": SentenceEncoder}[cfg.text_encoder](cfg)
