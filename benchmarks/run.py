"""Time a training step and generator inference for every architecture, twice: an eager fp32
reference step (what the papers' code does: per-tensor Adam, no frozen discriminator) and
ganzoo's default fast path (fused Adam, frozen discriminator, gradients released after each
update, and ``amp = "auto"``: bf16 autocast on GPUs and on CPUs with native bf16). Inference's
fast mode is the generator under that autocast (``torch.autocast`` around ``model.generate``;
ganzoo's own inference stays fp32). Synthetic tensors, fixed seeds, warm-up, then the median and
spread of timed steps. Each (configuration, mode) runs in its own process for a clean peak-memory
figure, while the two modes' steps are timed interleaved in one process, so that the machine's
drift affects both alike (compare ratios, not absolute figures, on shared machines).

    python -m benchmarks.run --suite train --device cpu --json results.json

The ``load`` suite times data loading alone (the embedded datasets through ganzoo's seeded
step loader, with 0 and 2 workers), to show the loader is not what limits training.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time


def fast_options(device: str) -> dict:
    """ganzoo's defaults on ``device``: ``amp = "auto"`` resolved (channels_last stays opt-in)."""
    import torch

    from ganzoo.training.context import native_amp

    return {"amp": native_amp(torch.device(device)), "channels_last": False}


def setup(name: str, suite: str, mode: str, device: str):
    """Build the model, batch, optimizers and one-step function of (configuration, mode)."""
    from types import SimpleNamespace

    import torch

    import ganzoo
    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref
    from ganzoo.config.structure import structure
    from ganzoo.testing import items_of
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import prepare

    from .configs import STANDARD

    architecture, model_config, batch_size = STANDARD[name]
    torch.manual_seed(0)
    dev = torch.device(device)
    model = ganzoo.create(architecture, **model_config).to(dev)
    entry = plugins.registry("trainers").get(plugins.registry("architectures").get(
        architecture).trainer)
    options = fast_options(device) if mode == "fast" else {"amp": "none", "channels_last": False}
    cfg = structure({"batch_size": batch_size, "device": device, **options},
                    entry.config_cls or ganzoo.TrainConfig, section="train")
    ctx = StepContext(cfg, dev)
    ctx.freeze = ctx.fused_adam = ctx.release_grads = mode == "fast"
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    batch = ctx.to_device(model.example_batch(batch_size,
                                              generator=torch.Generator().manual_seed(0)))
    opt = SimpleNamespace(**prepare(entry, model, cfg, ctx, items_of(batch)))
    step = load_ref(entry.step)
    model.train(suite == "train")

    def once() -> None:
        if suite == "train":
            step(batch, model, opt, ctx)
        else:
            with torch.no_grad(), ctx.autocast():
                infer(model, batch, batch_size)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    info = {"config": name, "architecture": architecture, "suite": suite, "mode": mode,
            "options": {**options, "fused_adam": ctx.fused_adam, "frozen_d": ctx.freeze,
                        "release_grads": ctx.release_grads},
            "batch_size": batch_size}
    return once, info


def infer(model, batch: dict, batch_size: int):
    """The generator's inference call: translate the batch's inputs, or generate ``batch_size``."""
    if hasattr(model, "translate"):
        source = batch.get("source", batch.get("a"))
        return model.translate(source)
    if "embedding" in batch:  # text-to-image: one image per text embedding
        return model.generate(batch_size, seed=0, embeddings=batch["embedding"])
    return model.generate(batch_size, seed=0)


def loader_rate(name: str, workers: int, batches: int) -> dict:
    """Images per second of the training data loader alone (after one warm-up batch)."""
    import torch

    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref
    from ganzoo.config.structure import structure
    from ganzoo.training.data_order import step_loader

    from .configs import LOADERS

    dataset_name, data_config, batch_size = LOADERS[name]
    entry = plugins.registry("datasets").get(dataset_name)
    config = structure(data_config, entry.config_cls, section="data")
    dataset = load_ref(entry.build)(config, "train")
    loader = step_loader(dataset, batch_size=batch_size, seed=0, start=0, stop=batches + 1,
                         num_workers=workers, pin_memory=False)
    iterator = iter(loader)
    next(iterator)  # workers start, first batch
    start = time.perf_counter()
    count = sum(1 for _ in iterator)
    elapsed = time.perf_counter() - start
    return {"config": name, "suite": "load", "dataset": dataset_name, "workers": workers,
            "batch_size": batch_size, "batches": count,
            "images_per_s": count * batch_size / elapsed, "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def time_pair(name: str, suite: str, device: str, steps: int, warmup: int) -> dict:
    """Both modes in one process, their steps interleaved so drift hits both alike."""
    import torch

    runs = {mode: setup(name, suite, mode, device) for mode in ("eager", "fast")}
    for once, _ in runs.values():
        for _ in range(warmup):
            once()
    times: dict[str, list[float]] = {"eager": [], "fast": []}
    for i in range(steps):
        for mode in (("eager", "fast") if i % 2 == 0 else ("fast", "eager")):
            start = time.perf_counter()
            runs[mode][0]()
            times[mode].append(time.perf_counter() - start)
    out = {}
    for mode, (_, info) in runs.items():
        median = statistics.median(times[mode])
        out[mode] = {**info, "median_s": median, "spread_s": [min(times[mode]), max(times[mode])],
                     "images_per_s": info["batch_size"] / median, "torch": torch.__version__,
                     "device": device, "threads": torch.get_num_threads(), "steps": steps,
                     "warmup": warmup}
    return out


def peak_memory(name: str, suite: str, mode: str, device: str) -> int:
    """Peak memory of a few steps of one mode (its own process: RSS is a process-wide peak)."""
    import resource

    import torch

    once, _ = setup(name, suite, mode, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(3):
        once()
    if device == "cuda":
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", *args], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    from .configs import STANDARD

    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=["train", "infer", "load", "loader", "all"],
                        default="all", help="load: data loading alone (also spelt loader)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--config", action="append", choices=sorted(STANDARD),
                        help="only these configurations (repeatable)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--time-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.suite == "loader":
        args.suite = "load"
    if args.time_child:
        print(json.dumps(time_pair(*args.time_child, args.device, args.steps, args.warmup)))
        return
    if args.memory_child:
        print(json.dumps(peak_memory(*args.memory_child, args.device)))
        return
    common = ["--device", args.device, "--steps", str(args.steps), "--warmup", str(args.warmup)]
    suites = ["train", "infer"] if args.suite in ("all", "load") else [args.suite]
    results = []
    if args.suite in ("load", "all"):
        from .configs import LOADERS

        for name in sorted(LOADERS):
            for workers in (0, 2):
                row = loader_rate(name, workers, batches=max(20, args.steps))
                results.append(row)
                print(f"{name:<16} load {workers} workers {row['images_per_s']:10.1f} img/s",
                      flush=True)
        if args.suite == "load":
            suites = []
    for name in (args.config or sorted(STANDARD)) if suites else ():
        for suite in suites:
            pair = _child([*common, "--time-child", name, suite])
            for mode in pair:
                pair[mode]["peak_memory_bytes"] = _child([*common, "--memory-child", name, suite,
                                                          mode])
                pair[mode]["memory_kind"] = ("cuda allocated" if args.device == "cuda"
                                             else "process peak RSS")
            speedup = pair["eager"]["median_s"] / pair["fast"]["median_s"]
            memory = pair["fast"]["peak_memory_bytes"] / pair["eager"]["peak_memory_bytes"]
            results += [pair["eager"], {**pair["fast"], "speedup_vs_eager": speedup,
                                        "memory_vs_eager": memory}]
            print(f"{name:<10} {suite:<6} eager {pair['eager']['images_per_s']:8.1f} img/s   "
                  f"fast {pair['fast']['images_per_s']:8.1f} img/s   x{speedup:.2f}   "
                  f"memory x{memory:.2f}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
