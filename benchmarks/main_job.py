"""The README's main job, measured end to end, and the outputs that depend on it refreshed::

    python benchmarks/main_job.py                 # the README's exact command, then everything below
    python benchmarks/main_job.py --steps 20 --out runs/main-job-try --no-ship   # a short try

1. runs ``ganzoo run recipes/dcgan_digits.toml --out runs/dcgan-digits`` (a child process, as a
   user types it) and times it: wall clock and the child's CPU time (user + system), with the CPU
   capability, the thread count and the precision the run trained in (from its ``run.json``);
2. scores the run's final generator: ``fd-digits``, ``kid-digits``, ``precision-digits``,
   ``recall-digits`` (1000 samples, seed 0, the protocol of docs/zoo.md) and the share of those
   samples the shipped digits classifier reads with confidence (top probability > 0.9);
3. writes the README picture ``docs/images/dcgan_digits.png``: the run's final sample grid at 2x
   (nearest neighbour, as it always was) and the README caption's timing;
4. refreshes the shipped weights ``plugins/ganzoo_dcgan/weights/dcgan-digits/`` from the run:
   the same bundle layout (``config.json``, ``gen/``, ``sample.png``, a model card), with the
   figures above in the card.

``--no-ship`` stops after 2 (nothing in the tree changes). The figures are also written as JSON
(``--json``, default ``RUN/main_job.json``). Wall clock means something only on a quiet machine;
on a shared one compare the CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = "recipes/dcgan_digits.toml"
SHIPPED = ROOT / "plugins" / "ganzoo_dcgan" / "weights" / "dcgan-digits"
PICTURE = ROOT / "docs" / "images" / "dcgan_digits.png"
README = ROOT / "README.md"
METRICS = ["fd-digits", "kid-digits", "precision-digits", "recall-digits"]
CAPTION = re.compile(r"^\*Samples from `ganzoo run recipes/dcgan_digits\.toml` \(.*\)\.?\*$", re.M)


def run_main_job(out: Path, overrides: list[str]) -> dict:
    """The README's command in a child process; its wall clock and CPU time."""
    ganzoo = Path(sys.executable).with_name("ganzoo")
    command = [str(ganzoo) if ganzoo.exists() else sys.executable, *(
        [] if ganzoo.exists() else ["-m", "ganzoo"]), "run", RECIPE, "--out", str(out)]
    for item in overrides:
        command += ["--set", item]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"command": " ".join(["ganzoo", *command[command.index("run"):]]),
            "wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def score(run: Path) -> dict:
    import torch

    import ganzoo
    from ganzoo.editing.features import digit_class
    from ganzoo.metrics import evaluate

    model = ganzoo.load(str(run))
    scores = evaluate(model, METRICS, n=1000, seed=0)
    with torch.no_grad():
        top = digit_class(model.generate(1000, seed=0)).amax(dim=1)
    figures = {name: round(s.value, 3) for name, s in scores.items()}
    figures["confident"] = round(float((top > 0.9).double().mean()), 3)
    figures["mean_confidence"] = round(float(top.mean()), 3)
    return figures


def machine(run: Path) -> dict:
    import torch

    info = json.loads((run / "run.json").read_text())
    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": int(os.environ.get("OMP_NUM_THREADS") or torch.get_num_threads()),
            "cores": os.cpu_count(), "precision": info.get("precision", info.get("amp")),
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):02d} s"


def write_picture(run: Path) -> None:
    from PIL import Image

    from ganzoo.base.io import atomic_write_with

    grid = Image.open(run / "samples" / "final.png").convert("RGB")
    big = grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST)
    atomic_write_with(PICTURE, lambda tmp: big.save(tmp, format="PNG"))


def write_caption(figures: dict) -> None:
    from ganzoo.base.io import atomic_write_text

    m = figures["machine"]
    steps = figures["steps"]
    caption = (f"*Samples from `ganzoo run recipes/dcgan_digits.toml` (DCGAN, {steps} steps, "
               f"{minutes(figures['time']['wall_s'])} on a {m['cores']}-core CPU, "
               f"{m['cpu_capability']}, {m['precision']}; shown at 2x).*")
    text = README.read_text(encoding="utf-8")
    if not CAPTION.search(text):
        raise SystemExit(f"main_job: {README}: no caption line '*Samples from `ganzoo run "
                         f"recipes/dcgan_digits.toml` (...)*' to update")
    atomic_write_text(README, CAPTION.sub(lambda _: caption, text, count=1))


def ship(run: Path, figures: dict) -> None:
    """The run's inference bundle into the package, in the layout it always had."""
    import ganzoo
    from ganzoo.base.io import atomic_write_text, atomic_write_with
    from ganzoo.hub.bundle import read_index, write_bundle
    from ganzoo.hub.card import make_card

    model = ganzoo.load(str(run))
    with tempfile.TemporaryDirectory(dir=SHIPPED.parent) as tmp:
        staged = Path(tmp)
        write_bundle(model, staged, components="inference")
        shutil.copyfile(run / "samples" / "final.png", staged / "sample.png")
        last = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
                if '"loss_d"' in line][-1]
        m, t = figures["machine"], figures["time"]
        metrics = {"step": last["step"], "loss_d": last["loss_d"], "loss_g": last["loss_g"],
                   **{k: figures["scores"][k] for k in METRICS},
                   "confident (classifier p > 0.9)": figures["scores"]["confident"],
                   "train time": f"{minutes(t['wall_s'])} wall, {t['cpu_s']} s CPU",
                   "measured on": f"{m['cpu_capability']}, {m['threads']} thread(s), "
                                  f"{m['precision']}, {m['date']}"
                                  + (f" ({figures['note']})" if figures.get("note") else "")}
        card = make_card(read_index(staged), load_name="dcgan-digits", license="cc-by-4.0",
                         datasets=["digits"], recipe=(run / "recipe.toml").read_text(),
                         metrics=metrics, sample="sample.png")
        (staged / "README.md").write_text(str(card), encoding="utf-8")
        for path in sorted(p for p in staged.rglob("*") if p.is_file()):
            target = SHIPPED / path.relative_to(staged)
            atomic_write_with(target, lambda dst, src=path: shutil.copyfile(src, dst))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python benchmarks/main_job.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/dcgan-digits"),
                        help="run directory (relative to the checkout; must not exist)")
    parser.add_argument("--steps", type=int, help="a short try: --set train.steps=N")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="another recipe override (repeatable)")
    parser.add_argument("--no-ship", action="store_true",
                        help="measure only: leave the picture, README and shipped weights alone")
    parser.add_argument("--reuse", nargs=2, type=float, metavar=("WALL_S", "CPU_S"),
                        help="the run in --out exists (timed elsewhere, e.g. by /usr/bin/time, "
                             "with these seconds): skip step 1")
    parser.add_argument("--note", default="", help="said in the card beside the machine, "
                        "e.g. 'shared CPU, under load'")
    parser.add_argument("--json", type=Path, help="where the figures go (default RUN/main_job.json)")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else ROOT / args.out
    overrides = [*([f"train.steps={args.steps}"] if args.steps else []), *args.overrides]
    if args.reuse:
        if not (out / "weights").is_dir():
            raise SystemExit(f"main_job: --reuse: {out} is not a finished run (no weights/)")
        timing = {"command": "(timed elsewhere)", "wall_s": args.reuse[0], "cpu_s": args.reuse[1]}
    elif out.exists():
        raise SystemExit(f"main_job: {out} exists; remove it or give another --out")
    else:
        timing = run_main_job(out, overrides)
    steps = max(json.loads(line).get("step", 0)
                for line in (out / "metrics.jsonl").read_text().splitlines())
    figures = {"time": timing, "machine": machine(out), "scores": score(out), "steps": steps,
               "overrides": overrides, "note": args.note}
    print(json.dumps(figures, indent=2))
    target = args.json or out / "main_job.json"
    target.write_text(json.dumps(figures, indent=2) + "\n")
    if not args.no_ship:
        write_picture(out)
        write_caption(figures)
        ship(out, figures)
        print(f"updated {PICTURE}, the caption in {README} and {SHIPPED}/")


if __name__ == "__main__":
    main()
