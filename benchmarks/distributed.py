"""Two gloo processes on this machine: the training step with each update's gradients averaged
in one flattened all-reduce after the backward (``[train] grad_bucket_mb = 0``, the previous
path) against buckets sent from the backward as their gradients are final (the default, 25 MB,
and any other ``--bucket-mb``).

    python -m benchmarks.distributed --config dcgan-64 --config pix2pix-256 --bucket-mb 4 --json ddp.json

Each rank builds the configuration's model at ganzoo's defaults (the ``fast`` mode of
``benchmarks.run``) once per bucket size, from the same seed, and takes its half of the global
batch. The variants' steps are interleaved in both processes (the order reversed every step), so
the machine's drift hits all alike. Rank 0's medians are reported: the step time, the time each
step waited for its exchanges after the backwards had ended (all of the flattened exchange; what
the overlap did not hide), and the time of one flattened all-reduce of all the gradients alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import time

#: name -> (architecture, model config, global batch over the two processes)
CONFIGS = {
    "dcgan-64": ("dcgan", {"resolution": 64, "channels": 3, "z_dim": 100, "gen_width": 64,
                           "disc_width": 64}, 64),
    # unet_256 and the 70x70 PatchGAN at batch 1 per process: the largest gradients per
    # computed pixel of the zoo (54 M generator parameters).
    "pix2pix-256": ("pix2pix", {"resolution": 256, "depth": 8}, 2),
}


def _setup(name: str, bucket_mb: float, world):
    from types import SimpleNamespace

    import attrs
    import torch

    import ganzoo
    import ganzoo.plugin.manager as plugins
    from ganzoo.config.structure import structure
    from ganzoo.plugin.registry import load_ref
    from ganzoo.testing import items_of
    from ganzoo.training.context import StepContext
    from ganzoo.training.lifecycle import prepare

    from .run import fast_options

    architecture, model_config, batch_size = CONFIGS[name]
    torch.manual_seed(0)  # the same weights on both ranks and for both paths
    model = ganzoo.create(architecture, **model_config)
    entry = plugins.registry("trainers").get(plugins.registry("architectures").get(
        architecture).trainer)
    cfg = structure({"batch_size": batch_size, "device": "cpu", **fast_options("cpu")},
                    entry.config_cls or ganzoo.TrainConfig, section="train")
    ctx = StepContext(attrs.evolve(cfg, grad_bucket_mb=bucket_mb), torch.device("cpu"))
    ctx.world = world
    per_rank = batch_size // world.size
    batch = model.example_batch(per_rank, generator=torch.Generator().manual_seed(world.rank))
    opt = SimpleNamespace(**prepare(entry, model, cfg, ctx, items_of(batch)))
    step = load_ref(entry.step)
    model.train()
    return (lambda: step(batch, model, opt, ctx)), model, ctx, per_rank


def _allreduce_alone(model, repeats: int) -> float:
    """Median seconds of one flattened all-reduce as large as all of ``model``'s gradients."""
    import torch
    import torch.distributed as dist

    flat = torch.zeros(sum(p.numel() for p in model.parameters()))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dist.all_reduce(flat)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_flattened_exchange() -> list[float]:
    """Time every flattened all-reduce (``grad_bucket_mb = 0``): all of it is exposed."""
    from ganzoo.training import distributed

    spent = [0.0]
    plain = distributed.average_gradients

    def timed(params, world):
        start = time.perf_counter()
        plain(params, world)
        spent[0] += time.perf_counter() - start

    distributed.average_gradients = timed
    return spent


def _exposed(mb: float, ctx, flattened: list[float]) -> float:
    """Seconds the last step waited for its exchanges after the backwards had ended."""
    if not mb:
        return flattened[0]
    return sum(sync.exposed_s for sync in ctx._syncs.values())


def _worker(rank: int, port: int, threads: int, names: list[str], sizes: list[float],
            steps: int, warmup: int, out: str) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import torch
    import torch.distributed as dist

    from ganzoo.training.distributed import World

    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    world = World(rank=rank, size=2)
    flattened = _time_flattened_exchange()
    rows = []
    for name in names:
        runs = {mb: _setup(name, mb, world) for mb in sizes}
        for once, *_ in runs.values():
            for _ in range(warmup):
                once()
        times: dict[float, list[float]] = {mb: [] for mb in sizes}
        exposed: dict[float, list[float]] = {mb: [] for mb in sizes}
        for i in range(steps):
            for mb in (sizes if i % 2 == 0 else sizes[::-1]):
                dist.barrier()  # both ranks start each timed step together
                flattened[0] = 0.0
                start = time.perf_counter()
                runs[mb][0]()
                times[mb].append(time.perf_counter() - start)
                exposed[mb].append(_exposed(mb, runs[mb][2], flattened))
        _, model, _, per_rank = runs[sizes[0]]
        grads_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
        row = {"config": name, "architecture": CONFIGS[name][0], "processes": 2,
               "backend": "gloo", "threads_per_process": torch.get_num_threads(),
               "global_batch": CONFIGS[name][2], "batch_per_process": per_rank,
               "amp": runs[sizes[0]][2].amp, "gradients_mb": round(grads_mb, 1),
               "allreduce_alone_s": _allreduce_alone(model, max(3, steps // 2)),
               "steps": steps, "warmup": warmup, "torch": torch.__version__,
               "cpu_capability": torch.backends.cpu.get_cpu_capability(), "variants": []}
        flat = statistics.median(times[0.0])
        line = f"{name:<12} all-reduce alone {row['allreduce_alone_s']:.3f} s ({grads_mb:.0f} MB)"
        for mb in sizes:
            ctx = runs[mb][2]
            median = statistics.median(times[mb])
            row["variants"].append({
                "grad_bucket_mb": mb, "median_s": median,
                "spread_s": [min(times[mb]), max(times[mb])],
                "exposed_exchange_s": statistics.median(exposed[mb]),
                "buckets": {n: len(ctx._syncs[id(o)].buckets) if id(o) in ctx._syncs else 0
                            for n, o in ctx.optimizers.items()},
                "speedup_vs_flattened": flat / median})
            line += (f"   {mb:g} MB: {median:.3f} s x{flat / median:.2f} (waits "
                     f"{statistics.median(exposed[mb]):.3f} s)")
        rows.append(row)
        if rank == 0:
            print(line, flush=True)
    if rank == 0:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(rows, fh)
    dist.destroy_process_group()


def main(argv: list[str] | None = None) -> None:
    import multiprocessing
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS),
                        help="only these configurations (repeatable)")
    parser.add_argument("--bucket-mb", type=float, action="append", default=[],
                        help="also time this [train] grad_bucket_mb (repeatable; 0 and 25 always)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    names = args.config or sorted(CONFIGS)
    sizes = sorted({0.0, 25.0, *args.bucket_mb})
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        spawn = multiprocessing.get_context("spawn")
        procs = [spawn.Process(target=_worker, args=(rank, port, args.threads, names, sizes,
                                                     args.steps, args.warmup, out))
                 for rank in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        if any(proc.exitcode for proc in procs):
            sys.exit("a benchmark process failed (its traceback is above)")
        with open(out, encoding="utf-8") as fh:
            rows = json.load(fh)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": platform.processor() or platform.machine(), "results": rows},
                      fh, indent=2)


if __name__ == "__main__":
    main()
