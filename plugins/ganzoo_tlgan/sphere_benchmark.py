"""Reproduce the sphere-map figures of docs/editing.md on the shipped dcgan-digits generator::

    python -m ganzoo_tlgan.sphere_benchmark [--json out.json] [--pictures docs/images]

Train the projection encoder (``--encoder-steps`` steps of 64 generated pairs, seed 0), encode
the digits TEST split (360 real images), place them on the sphere and report the leave-one-out
5-NN accuracy of their labels on: the map (three principal axes, renormalised), random Gaussian
3-D projections renormalised (``--random`` seeds: mean, min, max), and the full 64-D unit latents.

With ``--grown MODEL`` (a DCGAN digits run or bundle saved with its discriminator), instead
compare the projection encoder from scratch with the one grown from MODEL's discriminator at the
same budgets (``--budgets`` steps of 64 generated pairs, seed 0): CPU seconds to train and the
pixel MSE of G(E(x)) on the 360 held-out real test digits; ``--pictures`` gets
``grown_encoder.png`` (inputs, scratch, grown; one row each).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def sphere_figures(model, *, encoder_steps: int, random: int, pictures: Path | None) -> dict:
    from ganzoo.editing import projection, sphere

    start = time.perf_counter()
    encoder = projection.train_encoder(model, steps=encoder_steps)
    trained = time.perf_counter() - start
    images, labels = sphere.dataset_images("digits", model, split="test")
    result = sphere.sphere_map(model, images, labels, encoder=encoder)
    baseline = [sphere.knn_accuracy(sphere.random_sphere(result.unit, seed=s), labels)
                for s in range(random)]
    if pictures is not None:
        sphere.write_png(result, pictures / "sphere.png",
                         title="dcgan-digits: the 360 test digits on the latent sphere")
    return {
        "images": len(labels), "encoder_steps": encoder_steps,
        "encoder_seconds": round(trained, 1),
        "mean_pixel_mse": round(float(result.mse.mean()), 4),
        "explained_variance": [round(v, 3) for v in result.explained],
        "knn5_sphere": round(sphere.knn_accuracy(result.coords, labels), 3),
        "knn5_random_mean": round(sum(baseline) / len(baseline), 3),
        "knn5_random_min": round(min(baseline), 3), "knn5_random_max": round(max(baseline), 3),
        "knn5_full_unit_latents": round(sphere.knn_accuracy(result.unit, labels), 3),
        "chance": round(max(labels.count(y) for y in set(labels)) / len(labels), 3),
    }


def encoder_figures(model, *, budgets: list[int], pictures: Path | None) -> dict:
    from ganzoo.editing import projection, sphere
    from ganzoo.base.images import save_grid

    images, _ = sphere.dataset_images("digits", model, split="test")
    rows, reconstructions = [], {}
    for init in ("scratch", "discriminator"):
        for steps in budgets:
            start = time.process_time()
            encoder = projection.train_encoder(model, steps=steps, init=init)
            seconds = time.process_time() - start
            result = projection.project(model, images, method="encoder", encoder=encoder)
            rows.append({"init": init, "steps": steps, "cpu_seconds": round(seconds, 1),
                         "heldout_pixel_mse": round(float(result.mse.mean()), 4)})
            reconstructions[init] = result.images
    if pictures is not None:
        shown = slice(0, 12)
        save_grid(torch.cat([images[shown], reconstructions["scratch"][shown].cpu(),
                             reconstructions["discriminator"][shown].cpu()]),
                  pictures / "grown_encoder.png", nrow=12)
    return {"images": len(images), "runs": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder-steps", type=int, default=1000)
    parser.add_argument("--random", type=int, default=20)
    parser.add_argument("--grown", metavar="MODEL",
                        help="compare scratch and grown encoders on MODEL (saved with its D)")
    parser.add_argument("--budgets", default="100,400",
                        help="encoder training steps to compare, e.g. 100,400")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pictures", type=Path)
    args = parser.parse_args(argv)
    import ganzoo

    figures = {"cpu": torch.backends.cpu.get_cpu_capability(),
               "threads": torch.get_num_threads()}
    if args.grown:
        model = ganzoo.load(args.grown, components="all")
        budgets = [int(b) for b in args.budgets.split(",")]
        figures["encoders"] = encoder_figures(model, budgets=budgets, pictures=args.pictures)
    else:
        model = ganzoo.load("dcgan-digits")
        figures["sphere"] = sphere_figures(model, encoder_steps=args.encoder_steps,
                                           random=args.random, pictures=args.pictures)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from ganzoo.base.io import atomic_write_text

        atomic_write_text(args.json, text + "\n")


if __name__ == "__main__":
    main()
