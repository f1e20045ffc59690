"""The degenerator measured on the embedded digits ("getting the essence of your dataset")::

    python -m ganzoo_tlgan.degenerator_benchmark RUN_DIR --chunks 4 --chunk 100 \\
        [--json out.json] [--pictures docs/images]

RUN_DIR is a finished digits run of a latent generator (DCGAN) or of a conditional one (cGAN; it
is copied, never changed). The copy is continued
with ``[train] freeze_disc_after`` = its last step, ``--chunk`` steps at a time: from then on only
the generator learns, against the critic as it was. Before the first chunk and after each, on
``-n`` samples (seed 0): the frozen critic's mean score of the samples (mean D logit), recall
against the digits (``recall-digits``), the number of distinct classes the digits classifier
reads (classes holding at least 2 % of the samples) and the mean pairwise pixel distance;
``--pictures`` gets ``degenerator.png`` (one row of samples per measured step) and
``degenerator_curves.png``. For a conditional model the samples cycle through the classes and
the critic scores each with its label; the figures add the share of samples the classifier reads
as the class asked for and the mean pairwise distance *within* a class, and the picture has a row
per class (``--name`` prefixes the files, e.g. ``degenerator_cgan``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch


def measure(model, *, n: int, seed: int = 0) -> dict:
    """Critic score and variety of ``n`` samples of ``model`` (loaded with its discriminator)."""
    from ganzoo.metrics import evaluate
    from ganzoo.metrics.digits_classifier import load_classifier

    from ganzoo.nn.kinds import ConditionalGenerator

    conditional = isinstance(model, ConditionalGenerator)
    with torch.no_grad():
        if conditional:
            labels = torch.arange(n) % model.num_classes
            images = model.generate(n, seed=seed, labels=labels)
            score = float(model.disc(images, labels.to(images.device)).mean())
        else:
            images = model.generate(n, seed=seed)
            score = float(model.disc(images).mean())
        classes = load_classifier(device=model.device)(images).argmax(1).cpu()
        flat = images.flatten(1)
        pairwise = float(torch.pdist(flat).mean())
    counts = torch.bincount(classes, minlength=10)
    recall_value = evaluate(model, ["recall-digits"], n=n, seed=seed)["recall-digits"].value
    row = {"critic_score": round(score, 4), "recall": round(float(recall_value), 4),
           "distinct_classes": int((counts >= 0.02 * n).sum()),
           "class_counts": counts.tolist(), "mean_pairwise_distance": round(pairwise, 3)}
    if conditional:
        within = [float(torch.pdist(flat[labels == c]).mean()) for c in range(model.num_classes)]
        row["label_accuracy"] = round(float((classes == labels).float().mean()), 4)
        row["within_class_distance"] = round(sum(within) / len(within), 3)
    return row


def _samples(model, *, seed: int = 1):
    """The picture's samples: 16 fixed latents, or for a conditional model 2 per class."""
    from ganzoo.nn.kinds import ConditionalGenerator

    with torch.no_grad():
        if isinstance(model, ConditionalGenerator):
            labels = torch.arange(model.num_classes).repeat_interleave(2)
            z = model.sample_latent(2, seed=seed).repeat(model.num_classes, 1)
            return model.generate(len(labels), z=z, labels=labels).cpu()
        return model.generate(16, seed=seed).cpu()


def degenerate(run_dir: Path, *, chunks: int, chunk: int, n: int, pictures: Path | None,
               name: str = "degenerator") -> dict:
    import subprocess
    import sys

    import ganzoo

    work = Path(tempfile.mkdtemp(prefix="degenerator-")) / "run"
    shutil.copytree(run_dir, work)
    model = ganzoo.load(str(work), components="all")
    lines = (work / "metrics.jsonl").read_text().splitlines()
    start = max(json.loads(line)["step"] for line in lines if line.strip())
    rows, grids = [], []
    for k in range(chunks + 1):
        if k:
            # The public way to continue a run: `ganzoo run --resume RUN --set ...`.
            subprocess.run([sys.executable, "-m", "ganzoo", "run", "--resume", str(work), "-q",
                            "--set", f"train.steps={start + k * chunk}",
                            "--set", f"train.freeze_disc_after={start}",
                            "--set", f"train.sample_every={chunk}",
                            "--set", f"train.checkpoint_every={chunk}"], check=True)
            model = ganzoo.load(str(work), components="all")
        row = {"step": start + k * chunk, "frozen_steps": k * chunk, **measure(model, n=n)}
        print(json.dumps(row), flush=True)
        rows.append(row)
        grids.append(_samples(model))
    shutil.rmtree(work.parent, ignore_errors=True)
    if pictures is not None:
        from ganzoo.base.images import save_grid

        if "label_accuracy" in rows[0]:  # a row per class, its two latents at each step
            per_step = torch.stack(grids)  # [steps, classes * 2, C, H, W]
            steps, count = per_step.shape[:2]
            per_class = per_step.view(steps, count // 2, 2, *per_step.shape[2:])
            per_class = per_class.permute(1, 0, 2, 3, 4, 5).reshape(-1, *per_step.shape[2:])
            save_grid(per_class, pictures / f"{name}.png", nrow=steps * 2)
        else:
            save_grid(torch.cat(grids), pictures / f"{name}.png", nrow=16)
        _curves(rows, pictures / f"{name}_curves.png")
    return {"start_step": start, "samples": n, "rows": rows}


def _curves(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.base.io import atomic_write_with

    steps = [r["frozen_steps"] for r in rows]
    keys = [("critic_score", "critic score (mean D logit)"), ("recall", "recall-digits"),
            ("distinct_classes", "distinct classes (≥ 2 %)"),
            ("mean_pairwise_distance", "mean pairwise pixel distance")]
    if "label_accuracy" in rows[0]:
        keys[2:] = [("label_accuracy", "read as the class asked for"),
                    ("within_class_distance", "mean pairwise distance within a class")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.5 * len(keys), 3.2))
    for ax, (key, title) in zip(axes, keys):
        ax.plot(steps, [r[key] for r in rows], marker="o")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("generator steps against the frozen critic")
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--pictures", type=Path)
    parser.add_argument("--name", default="degenerator", help="file name prefix of the pictures")
    args = parser.parse_args(argv)
    figures = {"cpu": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
               "degenerator": degenerate(args.run_dir, chunks=args.chunks, chunk=args.chunk,
                                         n=args.n, pictures=args.pictures, name=args.name)}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from ganzoo.base.io import atomic_write_text

        atomic_write_text(args.json, text + "\n")


if __name__ == "__main__":
    main()
