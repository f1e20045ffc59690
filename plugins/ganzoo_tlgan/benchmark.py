"""Reproduce the figures of docs/editing.md ("Measured") on the shipped dcgan-digits generator::

    python -m ganzoo_tlgan.benchmark [--json out.json] [--pictures docs/images]

1. Fit thickness, slant, size and class axes on ``--samples`` generated digits (seed 0).
2. On ``--seeds`` other latents (seeds 10000...), walk the thickness axis over
   α ∈ linspace(-2, 2, 9) with class locked (and, for comparison, unlocked); per seed the Spearman
   ρ between α and measured thickness, and whether the classifier's class is the same at all 9 α.
3. Project ``--real`` held-out real digits (the digits TEST split) by the encoder alone (trained
   ``--encoder-steps`` steps) and by the hybrid (encoder start + random restarts, L-BFGS);
   mean pixel MSE of each.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def _spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    rx, ry = x.argsort().argsort().double(), y.argsort().argsort().double()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx @ ry) / (rx.norm() * ry.norm()))


def axis_figures(model, axes, *, seeds: int = 200, lock=("class",), local: bool = False) -> dict:
    """The thickness walk's figures; ``local``: locked features held by the local lock."""
    from ganzoo.editing.measure import thickness
    from ganzoo.metrics.digits_classifier import predict

    alphas = torch.linspace(-2, 2, 9)
    z = torch.cat([model.sample_latent(1, seed=10_000 + s) for s in range(seeds)])
    if local:
        walk = torch.stack([axes.local_edit(model, z, {"thickness": float(a)}, lock)
                            for a in alphas.tolist()])
    else:
        direction = axes.direction("thickness", lock)
        walk = z.unsqueeze(0) + alphas.view(-1, 1, 1, 1, 1) * direction.view(1, 1, -1, 1, 1)
    with torch.no_grad():
        images = model.generate(0, z=walk.reshape(-1, *z.shape[1:]))
    measured = thickness(images).view(len(alphas), seeds)
    probs = predict(images).softmax(1)
    classes = probs.argmax(1).view(len(alphas), seeds)
    confident = probs.max(1).values.view(len(alphas), seeds)[4] > 0.9  # at α = 0
    rho = torch.tensor([_spearman(alphas, measured[:, i]) for i in range(seeds)])
    return {"lock": list(lock), "local": local, "seeds": seeds, "alphas": alphas.tolist(),
            "rho_mean_curve": round(_spearman(alphas, measured.mean(1)), 4),
            "rho_median": round(float(rho.median()), 4),
            "rho_ge_0.9": round(float((rho >= 0.9).double().mean()), 4),
            "class_kept": round(float((classes == classes[4:5]).all(0).double().mean()), 4),
            "class_kept_alpha_within_1": round(float(
                (classes[2:7] == classes[4:5]).all(0).double().mean()), 4),
            "confident_seeds": int(confident.sum()),
            "class_kept_confident_seeds": round(float(
                (classes == classes[4:5]).all(0)[confident].double().mean()), 4),
            "thickness_mean": [round(v, 3) for v in measured.mean(1).tolist()]}


def projection_figures(model, *, real: int = 100, encoder_steps: int = 2000,
                       steps: int = 50, restarts: int = 3) -> dict:
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build
    from ganzoo.editing.projection import project, train_encoder

    images = build(DigitsConfig(resolution=model.config.resolution), "test").images[:real]
    start = time.perf_counter()
    encoder = train_encoder(model, steps=encoder_steps)
    trained = time.perf_counter() - start
    out = {"real": real, "encoder_steps": encoder_steps, "encoder_train_s": round(trained, 1)}
    for method in ("encoder", "hybrid", "optimise"):
        start = time.perf_counter()
        result = project(model, images, method=method, encoder=encoder, steps=steps,
                         restarts=restarts, optimizer="lbfgs")
        out[f"mse_{method}"] = round(float(result.mse.mean()), 5)
        out[f"{method}_s"] = round(time.perf_counter() - start, 1)
    out["settings"] = f"L-BFGS {steps} iterations x {restarts} starts, feature weight 0.1"
    return out, encoder, images


def pictures(model, axes, encoder, images, folder: Path) -> None:
    from ganzoo.editing.latent import interpolation_grid
    from ganzoo.editing.projection import project
    from ganzoo.base.images import save_grid

    folder.mkdir(parents=True, exist_ok=True)
    seeds = [3, 5, 8, 13]
    alphas = torch.linspace(-2, 2, 7)
    z = torch.cat([model.sample_latent(1, seed=s) for s in seeds])
    rows = [axes.edit(z, {"thickness": float(a)}, ["class"]) for a in alphas]
    with torch.no_grad():
        walk = model.generate(0, z=torch.stack(rows, 1).reshape(-1, *z.shape[1:]))
    save_grid(walk, folder / "tlgan_thickness.png", nrow=len(alphas))
    save_grid(interpolation_grid(model, [0, 1, 2], steps=8), folder / "interpolation.png", nrow=8)
    picked = images[:8]
    enc = project(model, picked, method="encoder", encoder=encoder)
    hyb = project(model, picked, method="hybrid", encoder=encoder, steps=50, restarts=3)
    save_grid(torch.cat([picked, enc.images, hyb.images]), folder / "projection.png", nrow=8)


def main(argv=None) -> None:
    import ganzoo

    from .axes import fit_axes

    parser = argparse.ArgumentParser(prog="python -m ganzoo_tlgan.benchmark")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--real", type=int, default=100)
    parser.add_argument("--encoder-steps", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pictures", type=Path)
    args = parser.parse_args(argv)
    model = ganzoo.load("dcgan-digits")
    axes = fit_axes(model, ["thickness", "slant", "size", "class"], samples=args.samples,
                    generator_name="dcgan-digits")
    report = {"fit": [dict(f) for f in axes.features], "samples": args.samples,
              "thickness_class_locked": axis_figures(model, axes, seeds=args.seeds),
              "thickness_class_locked_locally": axis_figures(model, axes, seeds=args.seeds,
                                                             local=True),
              "thickness_unlocked": axis_figures(model, axes, seeds=args.seeds, lock=())}
    print(json.dumps(report, indent=2), flush=True)
    proj, encoder, images = projection_figures(model, real=args.real,
                                               encoder_steps=args.encoder_steps)
    report["projection"] = proj
    print(json.dumps(proj, indent=2), flush=True)
    if args.json:
        from ganzoo.base.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    if args.pictures:
        pictures(model, axes, encoder, images, args.pictures)


if __name__ == "__main__":
    main()
