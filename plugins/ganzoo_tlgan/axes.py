"""TL-GAN feature axes (Guan 2018, "Transparent Latent-space GAN").

1. Sample latents ``z``, generate images, label them with a feature extractor.
2. Fit a linear model ``feature ≈ w·z + b`` per feature (least squares); the unit vector
   ``w / |w|`` is the feature's *axis*. Held-out R² (and accuracy for classes) is recorded.
3. To move along one axis without changing others, make its direction orthogonal to the *locked*
   axes by Gram–Schmidt: ``d = a - Σ (a·u) u`` over an orthonormal basis ``u`` of the locked axes.

An :class:`Axes` artifact is a folder ``config.json`` + ``axes.safetensors``, written atomically,
loadable from a folder or a Hub repo id, and tied to its generator by the sha256 of the
generator's weights.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch

import ganzoo
from ganzoo.base.errors import CheckpointError, GanzooError, UnknownNameError, closest

FORMAT = "ganzoo-axes"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
TENSORS_NAME = "axes.safetensors"
DIGIT_FEATURES = ("thickness", "slant", "size", "class")  # the built-in features (digits)


class AxesError(GanzooError):
    """Axes that do not fit the generator, or names that the axes do not have."""


def unknown_name(kind: str, name: str, accepted: Iterable[str]) -> UnknownNameError:
    accepted = sorted(accepted)
    hint = closest(name, accepted)
    mean = f" (did you mean {hint[0]!r}?)" if hint else ""
    return UnknownNameError(f"unknown {kind} {name!r}{mean}; accepted: {', '.join(accepted)}",
                            name=name, kind=kind, suggestions=hint)


# -- features -----------------------------------------------------------------------------------
def registered_features(images: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """Label ``images`` with the registered feature extractors ``names`` (``ganzoo list
    features``): ``[N]`` values for regressors, ``[N, K]`` class probabilities for classifiers.
    The built-in ones are the digits' ``thickness``, ``slant``, ``size`` and ``class``."""
    with torch.no_grad():
        return feature_values(images, names)


def feature_values(images: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
    """:func:`registered_features` with gradients (for the local lock)."""
    from ganzoo.plugin.registry import load_ref

    check_features(names)
    return {name: load_ref(ganzoo.get("features", name).compute)(images) for name in names}


def check_features(names: Iterable[str]) -> None:
    """An :class:`UnknownNameError` naming the registered features for a name that is not one."""
    known = ganzoo.list_names("features")
    for name in names:
        if name not in known:
            raise unknown_name("feature", name, known)


def axis_names(feature: str, values: torch.Tensor) -> list[str]:
    """One axis per column: ``thickness``; ``class:0`` ... ``class:9``."""
    return [feature] if values.ndim == 1 else [f"{feature}:{k}" for k in range(values.shape[1])]


# -- linear algebra -----------------------------------------------------------------------------
def gram_schmidt(vectors: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """An orthonormal basis ``[m, d]`` (m ≤ k) of the span of ``vectors [k, d]``, in order;
    vectors already in the span of earlier ones are dropped."""
    basis: list[torch.Tensor] = []
    for v in vectors.double():
        for u in basis:  # modified Gram–Schmidt, twice for stability
            v = v - (v @ u) * u
        for u in basis:
            v = v - (v @ u) * u
        norm = v.norm()
        if norm > eps:
            basis.append(v / norm)
    if not basis:
        return vectors.new_zeros((0, vectors.shape[1]))
    return torch.stack(basis).to(vectors.dtype)


def disentangle(vector: torch.Tensor, locked: torch.Tensor) -> torch.Tensor:
    """``vector`` with its components along the span of ``locked [k, d]`` removed, unit norm."""
    v = vector.double()
    for u in gram_schmidt(locked).double():
        v = v - (v @ u) * u
    norm = v.norm()
    if norm < 1e-8:
        raise AxesError("the moved axis lies in the span of the locked axes: nothing is left "
                        "to move along; lock fewer axes")
    return (v / norm).to(vector.dtype)


def generator_fingerprint(model) -> str:
    """sha256 of the generator-side weights (names, shapes, dtypes and bytes, in name order)."""
    digest = hashlib.sha256()
    state = model.state_dict()
    for component in model.generator_components:
        for key in sorted(k for k in state if k.startswith(f"{component}.")):
            tensor = state[key].detach().cpu().contiguous()
            digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
            digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16
                          else tensor.float().numpy().tobytes())
    return digest.hexdigest()


def _describe_generator(model, name: str | None) -> dict[str, Any]:
    return {"name": name or "", "architecture": model.architecture,
            "z_dim": int(model.config.z_dim), "sha256": generator_fingerprint(model)}


# -- the artifact -------------------------------------------------------------------------------
@attrs.frozen(kw_only=True, eq=False)
class Axes:
    """Unit feature axes ``vectors [k, z_dim]`` named ``names``, their raw linear fits
    (``weights``, ``bias``), the fit quality per feature and the generator they belong to."""

    names: tuple[str, ...]
    vectors: torch.Tensor
    weights: torch.Tensor
    bias: torch.Tensor
    features: tuple[dict[str, Any], ...]
    generator: dict[str, Any]
    fit: dict[str, Any] = attrs.field(factory=dict)

    # names ------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f["name"] for f in self.features)

    def axis(self, name: str) -> torch.Tensor:
        """The unit axis ``name`` (``thickness``, ``class:7``)."""
        if name not in self.names:
            group = [n for n in self.names if n.startswith(f"{name}:")]
            if group:
                raise AxesError(f"feature {name!r} has {len(group)} axes; move one of them: "
                                f"{', '.join(group)}")
            raise unknown_name("axis", name, self.names)
        return self.vectors[self.names.index(name)]

    def locked(self, lock: Iterable[str]) -> torch.Tensor:
        """The axes named by ``lock``: axis names, or feature names meaning all their axes."""
        rows = []
        for name in lock:
            group = [i for i, n in enumerate(self.names) if n == name or n.startswith(f"{name}:")]
            if not group:
                raise unknown_name("axis or feature to lock", name,
                               sorted({*self.names, *self.feature_names}))
            rows += group
        return self.vectors[sorted(set(rows))] if rows else self.vectors[:0]

    def direction(self, name: str, lock: Iterable[str] = ()) -> torch.Tensor:
        """Unit direction of axis ``name`` made orthogonal to the locked axes (Gram–Schmidt);
        locking the moved axis's own feature is ignored."""
        lock = [n for n in lock if n != name and not name.startswith(f"{n}:")]
        return disentangle(self.axis(name), self.locked(lock))

    # editing ----------------------------------------------------------------------------------
    def check_generator(self, model, name: str | None = None) -> None:
        """Refuse a generator other than the one the axes were fitted on (by weights sha256)."""
        mine = self.generator
        found = generator_fingerprint(model)
        if found != mine.get("sha256"):
            theirs = name or f"this {model.architecture} model"
            raise AxesError(
                f"these axes were fitted for generator {mine.get('name') or '?'!r} "
                f"({mine.get('architecture')}, z_dim {mine.get('z_dim')}, weights sha256 "
                f"{str(mine.get('sha256'))[:12]}) but {theirs} has weights sha256 {found[:12]}; "
                f"fit axes for it with `ganzoo edit fit {name or 'MODEL'} --out AXES`")

    def edit(self, z: torch.Tensor, moves: Mapping[str, float], lock: Iterable[str] = ()
             ) -> torch.Tensor:
        """``z + Σ α · direction(name, lock)`` for ``moves = {name: α}``, in ``z``'s shape."""
        lock = list(lock)
        delta = torch.zeros(self.vectors.shape[1], dtype=z.dtype)
        for name, alpha in moves.items():
            delta = delta + float(alpha) * self.direction(name, lock).to(z.dtype)
        return z + delta.to(z.device).view(1, *z.shape[1:])

    def local_edit(self, model, z: torch.Tensor, moves: Mapping[str, float],
                   lock: Iterable[str] = (), *, step: float = 0.25,
                   extractor: Callable[[torch.Tensor, Sequence[str]], Mapping[str, torch.Tensor]]
                   | None = None) -> torch.Tensor:
        """Like :meth:`edit`, but the locked features are also held by their *local* gradient.

        The linear lock (Gram–Schmidt against the fitted axes) holds a feature on average over
        the latent space; a latent near a class boundary can still cross it. Here the move is
        made in steps of at most ``step``; before each, the components of the step along the
        gradients (with respect to ``z``) of the locked features' values at the current latent
        are removed, and the step is rescaled to keep its progress along the moved axes. The
        locked features come from the registered extractors (or ``extractor``), which must be
        differentiable. Without locks this is :meth:`edit`.
        """
        lock = list(lock)
        columns = self._locked_columns(lock, moves)
        target = self.edit(z, moves, lock)
        if not columns:
            return target
        extractor = extractor or feature_values
        total = (target - z).flatten(1)[0].detach().double()
        if not float(total.norm()):
            return target
        count = max(1, math.ceil(float(total.norm()) / step))
        unit = total / count
        current = z.detach().flatten(1).double()
        for _ in range(count):
            jacobian = self._feature_jacobian(model, current, z.shape[1:], columns, extractor)
            _, sizes, directions = torch.linalg.svd(jacobian, full_matrices=False)  # [N, K, d]
            keep = (sizes > 1e-6 * sizes.amax(dim=1, keepdim=True).clamp_min(1e-30)).double()
            along = (directions @ unit) * keep  # [N, K]
            moved = unit - (along.unsqueeze(2) * directions).sum(dim=1)
            progress = (moved @ unit) / (unit @ unit)
            moved = moved / progress.clamp_min(0.25).unsqueeze(1)  # at most 4x, never reversed
            current = current + moved
        return current.to(z.dtype).view_as(z)

    def _locked_columns(self, lock: Sequence[str], moves: Mapping[str, float]
                        ) -> dict[str, list[int] | None]:
        """``{feature: columns or None (all)}`` of the locked names, minus the moved ones."""
        moved_features = {m.split(":")[0] for m in moves}
        columns: dict[str, list[int] | None] = {}
        for name in lock:
            feature, _, column = name.partition(":")
            if feature in moved_features:
                continue
            if feature not in self.feature_names:
                raise unknown_name("axis or feature to lock", name,
                                   (*self.names, *self.feature_names))
            if not column:
                columns[feature] = None
            elif columns.get(feature, []) is not None:
                columns.setdefault(feature, []).append(int(column))
        return columns

    @staticmethod
    def _feature_jacobian(model, latents: torch.Tensor, shape, columns, extractor) -> torch.Tensor:
        """``[N, K, d]``: gradients of the locked feature values with respect to each latent."""
        with torch.enable_grad():
            z = latents.float().requires_grad_(True)
            values = extractor(model.generate(0, z=z.view(-1, *shape)), list(columns))
            outputs = []
            for feature, picked in columns.items():
                value = values[feature]
                value = value.unsqueeze(1) if value.ndim == 1 else value
                outputs.append(value if picked is None else value[:, picked])
            stacked = torch.cat(outputs, dim=1)  # [N, K]
            rows = [torch.autograd.grad(stacked[:, k].sum(), z, retain_graph=True)[0]
                    for k in range(stacked.shape[1])]
        return torch.stack(rows, dim=1).double()

    def walk(self, model, seeds: Sequence[int], moves: Mapping[str, float],
             lock: Iterable[str] = (), steps: int = 5, *, local: bool = False) -> torch.Tensor:
        """Images ``[len(seeds) * steps, C, H, W]``: for each seed a row from the original
        (t = 0) to the full move (t = 1) in ``steps`` columns (``local``: the locked features
        are held by :meth:`local_edit`)."""
        z = torch.cat([model.sample_latent(1, seed=s) for s in seeds])
        lock = list(lock)
        edit = ((lambda z, m: self.local_edit(model, z, m, lock)) if local
                else (lambda z, m: self.edit(z, m, lock)))
        rows = [edit(z, {k: t * v for k, v in moves.items()})
                for t in torch.linspace(0, 1, steps).tolist()]
        z_grid = torch.stack(rows, dim=1).reshape(-1, *z.shape[1:])
        with torch.no_grad():
            return model.generate(0, z=z_grid)

    # files ------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "library_name": "ganzoo",
                "generator": dict(self.generator), "features": [dict(f) for f in self.features],
                "axes": list(self.names), "fit": dict(self.fit),
                "ganzoo_version": ganzoo.__version__}

    def save(self, folder: str | Path) -> Path:
        """Write ``axes.safetensors`` then ``config.json`` into ``folder``, each atomically."""
        from safetensors.torch import save_file

        from ganzoo.base.io import atomic_write_json, atomic_write_with

        folder = Path(folder)
        tensors = {"vectors": self.vectors.contiguous(), "weights": self.weights.contiguous(),
                   "bias": self.bias.contiguous()}
        atomic_write_with(folder / TENSORS_NAME, lambda tmp: save_file(
            tensors, str(tmp), metadata={"format": "pt"}))  # one key: byte-reproducible
        atomic_write_json(folder / CONFIG_NAME, self.config())
        return folder

    @classmethod
    def load(cls, name_or_path: str | Path, *, revision: str | None = None,
             **download: Any) -> Axes:
        """Axes from a folder or a Hub repo id (``org/name``, ``org/name@revision``)."""
        folder = resolve(str(name_or_path), revision=revision, **download)
        from ganzoo.base.io import read_json

        path = folder / CONFIG_NAME
        config = read_json(path, missing=f"no {CONFIG_NAME}; not a ganzoo axes folder")
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not ganzoo axes (no \"format\": \"{FORMAT}\"); "
                                  "make axes with `ganzoo edit fit`")
        version = config.get("format_version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise CheckpointError(f"{path}: \"format_version\" must be an integer, got "
                                  f"{version!r}")
        if version > FORMAT_VERSION:
            raise CheckpointError(f"{path}: axes format {version} is newer than "
                                  "this ganzoo reads; upgrade ganzoo")
        _check_types(config, path)
        from ganzoo.hub.bundle import read_tensors

        tensors = read_tensors(folder / TENSORS_NAME)
        names = tuple(config.get("axes", ()))
        if (set(tensors) != {"vectors", "weights", "bias"} or tensors["vectors"].dim() != 2
                or len(tensors["vectors"]) != len(names)
                or any(not t.is_floating_point() for t in tensors.values())):
            raise CheckpointError(f"{folder / TENSORS_NAME}: does not match {CONFIG_NAME} "
                                  f"({len(names)} axes)")
        return cls(names=names, vectors=tensors["vectors"], weights=tensors["weights"],
                   bias=tensors["bias"], features=tuple(config.get("features", ())),
                   generator=config.get("generator", {}), fit=config.get("fit", {}))

    def push_to_hub(self, repo_id: str, *, private: bool = False, token: str | None = None) -> str:
        """Upload the axes folder to a Hub repo; returns the commit URL."""
        import tempfile

        from huggingface_hub import HfApi

        with tempfile.TemporaryDirectory() as tmp:
            self.save(tmp)
            api = HfApi(token=token)
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(folder_path=tmp, repo_id=repo_id,
                                     commit_message="Upload feature axes with ganzoo")
        return str(getattr(info, "commit_url", info))


def _check_types(config: dict, path: Path) -> None:
    """Every key of an axes ``config.json`` of the type ``Axes.save`` writes; one line if not."""
    expected = {"axes": (list, "an array of axis names"), "features": (list, "an array of objects"),
                "generator": (dict, "an object"), "fit": (dict, "an object")}
    for key, (kind, what) in expected.items():
        value = config.get(key, kind())
        if not isinstance(value, kind):
            raise CheckpointError(f"{path}: {key!r} must be {what}, got {value!r:.60}")
    if not all(isinstance(name, str) for name in config.get("axes", [])):
        raise CheckpointError(f"{path}: 'axes' must be an array of axis names (strings)")
    if not all(isinstance(f, dict) and isinstance(f.get("name"), str)
               for f in config.get("features", [])):
        raise CheckpointError(f"{path}: 'features' must be an array of objects with a "
                              "\"name\" string each")


def resolve(name_or_path: str, *, revision: str | None = None, **download: Any) -> Path:
    """A local axes folder for a folder path or a Hub repo id (only the axes files are fetched)."""
    from ganzoo.hub.loading import REPO_ID, hub_error, split_revision

    path = Path(name_or_path)
    if path.is_dir():
        return path
    repo_id, pinned = split_revision(name_or_path)
    if path.exists() or name_or_path.startswith(("./", "../", "/", "~")) or not REPO_ID.match(
            repo_id):
        raise CheckpointError(f"{name_or_path}: no such axes folder (or Hub repo id)")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id, revision=revision or pinned,
                                      allow_patterns=[CONFIG_NAME, TENSORS_NAME, "README.md"],
                                      **download))
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one line
        raise hub_error(exc, repo_id, revision or pinned) from None


# -- fitting ------------------------------------------------------------------------------------
def _r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    total = (target - target.mean(0)).pow(2).sum()
    return float(1 - (pred - target).pow(2).sum() / total.clamp_min(1e-12))


def fit_axes(model, features: Sequence[str] = ("thickness", "slant", "size", "class"), *,
             samples: int = 2000, seed: int = 0, holdout: float = 0.2,
             extractor: Callable[[torch.Tensor, Sequence[str]], Mapping[str, torch.Tensor]]
             | None = None, generator_name: str | None = None, batch_size: int = 500) -> Axes:
    """Fit one axis per feature column on ``samples`` generated images (TL-GAN).

    ``extractor(images, names) -> {name: [N] or [N, K] tensor}`` labels the images (default:
    the registered feature extractors, :func:`registered_features`). The fit uses the first ``1 - holdout`` of the samples; R² (and for
    ``[N, K]`` class probabilities, the argmax accuracy) is measured on the rest.
    """
    features = list(dict.fromkeys(features))
    if not features:
        raise AxesError("give at least one feature to fit")
    if extractor is None:
        extractor = registered_features
        check_features(features)
    if samples < 20:
        raise AxesError(f"fitting needs at least 20 samples, got {samples}")
    z = model.sample_latent(samples, seed=seed)
    labels: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        for chunk in z.split(batch_size):
            values = extractor(model.generate(0, z=chunk), features)
            missing = [name for name in features if name not in values]
            if missing:
                raise AxesError(f"the feature extractor returned no {missing[0]!r}; it gave: "
                                f"{', '.join(sorted(values))}")
            for name in features:
                labels.setdefault(name, []).append(values[name].detach().cpu().float())
    zf = z.flatten(1).cpu().double()
    design = torch.cat([zf, torch.ones(len(zf), 1, dtype=zf.dtype)], dim=1)
    n_fit = max(int(round(samples * (1 - holdout))), 10)
    names, weights, biases, reports = [], [], [], []
    for feature in features:
        y = torch.cat(labels[feature]).double()
        y2 = y if y.ndim == 2 else y.unsqueeze(1)
        solution = torch.linalg.lstsq(design[:n_fit], y2[:n_fit]).solution  # [d+1, K]
        report: dict[str, Any] = {"name": feature, "kind": "regression",
                                  "axes": axis_names(feature, y)}
        if n_fit < samples:
            pred = design[n_fit:] @ solution
            report["r2"] = round(_r2(pred, y2[n_fit:]), 4)
            if y.ndim == 2:
                report["kind"] = "class-probabilities"
                report["accuracy"] = round(float(
                    (pred.argmax(1) == y2[n_fit:].argmax(1)).double().mean()), 4)
        names += report["axes"]
        weights.append(solution[:-1].T)
        biases.append(solution[-1])
        reports.append(report)
    w = torch.cat(weights).float()
    vectors = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return Axes(names=tuple(names), vectors=vectors.contiguous(), weights=w.contiguous(),
                bias=torch.cat(biases).float(), features=tuple(reports),
                generator=_describe_generator(model, generator_name),
                fit={"samples": samples, "seed": seed, "holdout": holdout,
                     "extractor": ({n: ganzoo.get("features", n).compute for n in features}
                                   if extractor is registered_features else
                                   getattr(extractor, "__qualname__", "custom")),
                     "method": "least squares on z (with intercept); axes = w / |w|"})


def parse_moves(moves: Iterable[str]) -> dict[str, float]:
    """``["thickness=+2", "slant=-1"]`` → ``{"thickness": 2.0, "slant": -1.0}``."""
    out = {}
    for item in moves:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise AxesError(f"--move {item!r}: expected NAME=AMOUNT, e.g. thickness=+2") from None
    return out
