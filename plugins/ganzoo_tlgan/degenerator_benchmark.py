"""The degenerator measured on the embedded digits ("getting the essence of your dataset")::

    python -m ganzoo_tlgan.degenerator_benchmark RUN_DIR --chunks 4 --chunk 100 \\
        [--json out.json] [--pictures docs/images]

RUN_DIR is a finished DCGAN digits run (it is copied, never changed). The copy is continued
with ``[train] freeze_disc_after`` = its last step, ``--chunk`` steps at a time: from then on only
the generator learns, against the critic as it was. Before the first chunk and after each, on
``-n`` samples (seed 0): the frozen critic's mean score of the samples (mean D logit), recall
against the digits (``recall-digits``), the number of distinct classes the digits classifier
reads (classes holding at least 2 % of the samples) and the mean pairwise pixel distance;
``--pictures`` gets ``degenerator.png`` (one row of samples per measured step) and
``degenerator_curves.png``.
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

    with torch.no_grad():
        images = model.generate(n, seed=seed)
        score = float(model.disc(images).mean())
        classes = load_classifier(device=model.device)(images).argmax(1)
        flat = images.flatten(1)
        pairwise = float(torch.pdist(flat).mean())
    counts = torch.bincount(classes, minlength=10)
    recall_value = evaluate(model, ["recall-digits"], n=n, seed=seed)["recall-digits"].value
    return {"critic_score": round(score, 4), "recall": round(float(recall_value), 4),
            "distinct_classes": int((counts >= 0.02 * n).sum()),
            "class_counts": counts.tolist(), "mean_pairwise_distance": round(pairwise, 3)}


def degenerate(run_dir: Path, *, chunks: int, chunk: int, n: int, pictures: Path | None) -> dict:
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
        with torch.no_grad():
            grids.append(model.generate(16, seed=1).cpu())
    shutil.rmtree(work.parent, ignore_errors=True)
    if pictures is not None:
        from ganzoo.base.images import save_grid

        save_grid(torch.cat(grids), pictures / "degenerator.png", nrow=16)
        _curves(rows, pictures / "degenerator_curves.png")
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
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
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
    args = parser.parse_args(argv)
    figures = {"cpu": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
               "degenerator": degenerate(args.run_dir, chunks=args.chunks, chunk=args.chunk,
                                         n=args.n, pictures=args.pictures)}
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        from ganzoo.base.io import atomic_write_text

        atomic_write_text(args.json, text + "\n")


if __name__ == "__main__":
    main()
