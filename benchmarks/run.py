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

With ``--against PATH`` (repeatable) the training suite also times the reference
implementations' own step from the user's checkouts (``benchmarks/against.py``): the authors'
``optimize_parameters`` for pix2pix and CycleGAN, the loop body of pytorch/examples'
``dcgan/main.py`` for DCGAN; all three modes interleaved in one process. Every row also has
the CPU time of its steps (``time.process_time``: on a shared machine, what the step computed,
not the time other processes held the core) and, for training, GFLOP/s: the convolutions' and
matrix products' FLOPs of one step (torch's FLOP counter) over the median time.

    python -m benchmarks.run --suite train --against ~/src/pytorch-CycleGAN-and-pix2pix \
        --against ~/src/examples --config pix2pix-128 --config dcgan-64

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
    """ganzoo's defaults on ``device``: ``amp = "auto"`` resolved, ``channels_last = "auto"``
    (resolved per architecture with the model)."""
    import torch

    from ganzoo.training.context import native_amp

    return {"amp": native_amp(torch.device(device)), "channels_last": "auto"}


def setup(name: str, suite: str, mode: str, device: str, *, options: dict | None = None,
          compile: bool = False):
    """Build the model, batch, optimizers and one-step function of (configuration, mode).
    ``options`` replace ``[train]`` settings of the mode (``benchmarks/variants.py``: one
    switch on and off); ``compile`` runs every network under ``torch.compile``."""
    from types import SimpleNamespace

    import torch

    import ganzoo
    import ganzoo.plugin.manager as plugins
    from ganzoo.plugin.registry import load_ref
    from ganzoo.config.structure import structure
    from ganzoo.testing import items_of
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import prepare

    from .configs import EXTRA, STANDARD

    architecture, model_config, batch_size = {**STANDARD, **EXTRA}[name]
    torch.manual_seed(0)
    dev = torch.device(device)
    model = ganzoo.create(architecture, **model_config).to(dev)
    entry = plugins.registry("trainers").get(plugins.registry("architectures").get(
        architecture).trainer)
    options = {**(fast_options(device) if mode == "fast" else
                  {"amp": "none", "channels_last": False}), **(options or {})}
    cfg = structure({"batch_size": batch_size, "device": device, **options},
                    entry.config_cls or ganzoo.TrainConfig, section="train")
    ctx = StepContext(cfg, dev)
    ctx.freeze = ctx.fused_adam = ctx.release_grads = mode == "fast"
    if ctx.use_channels_last(model):
        model = model.to(memory_format=torch.channels_last)
    if compile:  # in place, as the training loop does with [train] compile = true
        for component in model.components:
            getattr(model, component).compile()
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
            "options": {**options, "channels_last": ctx.channels_last, "fused_adam": ctx.fused_adam, "frozen_d": ctx.freeze,
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


def step_flops(once) -> int:
    """Floating-point operations of one call of ``once`` (torch's FLOP counter: convolutions and
    matrix products, forward and backward; the element-wise rest is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        once()
    return counter.get_total_flops()


def _runner(name: str, suite: str, mode: str, device: str, against: list[str]):
    """``(once, info)`` of a mode: ``eager``/``fast`` (ganzoo) or ``reference`` (the checkout)."""
    if mode != "reference":
        return setup(name, suite, mode, device)
    import torch

    from . import against as ref
    from .configs import STANDARD

    architecture, model_config, batch_size = STANDARD[name]
    torch.manual_seed(0)
    once = ref.reference_step(architecture, model_config, batch_size, ref.checkouts(against))
    return once, {"config": name, "architecture": architecture, "suite": suite, "mode": mode,
                  "options": {"checkout": [str(p) for p in ref.checkouts(against).values()]},
                  "batch_size": batch_size}


def modes_of(name: str, suite: str, against: list[str]) -> tuple[str, ...]:
    """``eager`` and ``fast``, and ``reference`` first where ``--against`` has its checkout."""
    if suite == "train" and against:
        from . import against as ref
        from .configs import STANDARD

        if ref.supported(STANDARD[name][0], ref.checkouts(against)):
            return ("reference", "eager", "fast")
    return ("eager", "fast")


def time_pair(name: str, suite: str, device: str, steps: int, warmup: int,
              against: list[str] = ()) -> dict:
    """Every mode in one process, their steps interleaved (the order rotating) so that drift
    hits all alike. Each step's wall-clock and CPU time (``time.process_time``: on a shared
    machine, what the step itself computed, not the time other processes held the core)."""
    import torch

    modes = modes_of(name, suite, list(against))
    runs = {mode: _runner(name, suite, mode, device, list(against)) for mode in modes}
    for once, _ in runs.values():
        for _ in range(warmup):
            once()
    flops = step_flops(runs["eager"][0]) if suite == "train" else None
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    cpu: dict[str, list[float]] = {mode: [] for mode in modes}
    for i in range(steps):
        for mode in modes[i % len(modes):] + modes[:i % len(modes)]:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[mode][0]()
            cpu[mode].append(time.process_time() - start_cpu)
            times[mode].append(time.perf_counter() - start)
    out = {}
    for mode, (_, info) in runs.items():
        median = statistics.median(times[mode])
        median_cpu = statistics.median(cpu[mode])
        out[mode] = {**info, "median_s": median, "spread_s": [min(times[mode]), max(times[mode])],
                     "median_cpu_s": median_cpu, "images_per_s": info["batch_size"] / median,
                     "images_per_cpu_s": info["batch_size"] / median_cpu,
                     "torch": torch.__version__, "device": device,
                     "threads": torch.get_num_threads(), "steps": steps, "warmup": warmup,
                     "cpu_capability": torch.backends.cpu.get_cpu_capability()}
        if flops:
            out[mode].update(gflop_per_step=flops / 1e9, gflop_per_s=flops / 1e9 / median,
                             gflop_per_cpu_s=flops / 1e9 / median_cpu)
    return out


def peak_memory(name: str, suite: str, mode: str, device: str, against: list[str] = ()) -> int:
    """Peak memory of a few steps of one mode (its own process: RSS is a process-wide peak)."""
    import resource

    import torch

    once, _ = _runner(name, suite, mode, device, list(against))
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(3):
        once()
    if device == "cuda":
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_flags() -> dict:
    """What the figures were measured on: torch's CPU capability and the bf16/AMX flags."""
    import torch

    return {"capability": torch.backends.cpu.get_cpu_capability(),
            "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
            "amx": bool(torch.cpu._is_amx_tile_supported()),
            "threads": torch.get_num_threads()}


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
    parser.add_argument("--against", action="append", default=[], metavar="PATH",
                        help="also time the reference implementation's own training step from "
                             "this checkout (junyanz/pytorch-CycleGAN-and-pix2pix for pix2pix "
                             "and CycleGAN, pytorch/examples for DCGAN; repeatable)")
    parser.add_argument("--time-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.suite == "loader":
        args.suite = "load"
    if args.against:
        from . import against

        against.checkouts(args.against)  # one line now if a path is not a checkout
        if args.device != "cpu":
            raise SystemExit("--against runs the reference code on the CPU only (its models are "
                             "built with gpu_ids = []); use --device cpu")
    if args.time_child:
        print(json.dumps(time_pair(*args.time_child, args.device, args.steps, args.warmup,
                                   args.against)))
        return
    if args.memory_child:
        print(json.dumps(peak_memory(*args.memory_child, args.device, args.against)))
        return
    common = ["--device", args.device, "--steps", str(args.steps), "--warmup", str(args.warmup),
              *(f"--against={path}" for path in args.against)]
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
            fast = pair["fast"]
            for base in [mode for mode in pair if mode != "fast"]:
                fast[f"speedup_vs_{base}"] = pair[base]["median_s"] / fast["median_s"]
                fast[f"cpu_speedup_vs_{base}"] = pair[base]["median_cpu_s"] / fast["median_cpu_s"]
                fast[f"memory_vs_{base}"] = (fast["peak_memory_bytes"]
                                             / pair[base]["peak_memory_bytes"])
            results += list(pair.values())
            print(f"{name:<10} {suite:<6} " + "   ".join(
                f"{mode} {row['images_per_s']:8.2f} img/s" for mode, row in pair.items())
                + "   " + "   ".join(f"x{fast[f'speedup_vs_{base}']:.2f} vs {base} "
                                     f"(cpu x{fast[f'cpu_speedup_vs_{base}']:.2f}, memory "
                                     f"x{fast[f'memory_vs_{base}']:.2f})"
                                     for base in pair if base != "fast")
                + (f"   {fast['gflop_per_cpu_s']:.1f} GFLOP/cpu-s" if "gflop_per_s" in fast
                   else ""), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "cpu": cpu_flags(), "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
