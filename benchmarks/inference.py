"""Images per second of the inference verbs: DCGAN ``generate``, pix2pix ``translate`` and
SRGAN ``upscale``, each as

- **eager**: the model's own fp32 path (``model.generate(...)`` under ``no_grad``);
- **fast**: ``model.fast_path()`` with ``precision="auto"`` (bf16 autocast where the device runs
  it natively, fp32 elsewhere) and the architecture's ``channels_last`` default;
- **fast-flip**: the same with ``channels_last`` the other way (what the default was chosen on);
- **compile**: the fast path plus ``torch.compile`` (opt-in: ``--modes ...,compile``);
- **onnxruntime**: ``model.onnx_session()`` (the fp32 ONNX export; exporting is not timed).

The modes of one configuration are timed interleaved in one process (each round runs them in
a rotated order) after warm-up, so that a shared machine's drift hits them alike: compare the
ratios. Each row records the CPU capability torch uses, the thread count, the plan and the
largest absolute difference from eager on the timed inputs.

    OMP_NUM_THREADS=2 python -m benchmarks.inference --json inference.json
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.inference ...

(the second emulates an AVX2-only CPU: its rows say ``AVX2`` and ``auto`` resolves to fp32).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import tempfile
import time

#: name -> (architecture, model config, verb, batch size, input side)
CONFIGS = {
    "dcgan-64": ("dcgan", {"resolution": 64, "channels": 3, "z_dim": 100, "gen_width": 64,
                           "disc_width": 64}, "generate", 64, None),
    "pix2pix-128": ("pix2pix", {"resolution": 128, "depth": 7}, "translate", 4, 128),
    "pix2pix-256": ("pix2pix", {"resolution": 256, "depth": 8}, "translate", 1, 256),
    # SRResNet x4 at the paper's size (16 blocks, width 64): a 64x64 input -> 256x256.
    "srgan-x4": ("srgan", {}, "upscale", 1, 64),
}
MODES = ("eager", "fast", "fast-flip", "compile", "onnxruntime")
DEFAULT_MODES = ("eager", "fast", "fast-flip", "onnxruntime")


def callers(name: str, modes: tuple[str, ...], cache_dir: str) -> tuple[dict, dict]:
    """(mode -> a no-argument call giving the images, mode -> what the row says of it)."""
    import torch

    import ganzoo

    architecture, config, verb, batch, side = CONFIGS[name]
    torch.manual_seed(0)
    model = ganzoo.create(architecture, **config).eval()
    if side is not None:
        channels = model.channels("ab")[0] if verb == "translate" else model.config.channels
        inputs = torch.rand(batch, channels, side, side,
                            generator=torch.Generator().manual_seed(0)) * 2 - 1

    def calling(runner):
        if verb == "generate":
            return lambda: runner.generate(batch, seed=0)
        if verb == "translate":
            return lambda: runner.translate(inputs)
        return lambda: runner.upscale(inputs, tile=None)

    calls, info = {}, {}
    for mode in modes:
        if mode == "eager":
            runner = model.fast_path(precision="fp32")  # exactly model.<verb> under no_grad
        elif mode == "onnxruntime":
            runner = model.onnx_session(cache_dir=cache_dir)
        else:
            default = model.fast_path()
            flip = not default.plan.channels_last if mode == "fast-flip" else None
            runner = model.fast_path(channels_last=flip, compile=mode == "compile")
        calls[mode] = calling(runner)
        info[mode] = {"plan": runner.plan.describe() if hasattr(runner, "plan") else
                      "onnxruntime CPUExecutionProvider, fp32"}
    return calls, {"architecture": architecture, "verb": verb, "batch_size": batch,
                   "input_side": side, "modes": info}


def time_config(name: str, modes: tuple[str, ...], steps: int, warmup: int) -> list[dict]:
    import torch

    from ganzoo.nn.inference import capability

    with tempfile.TemporaryDirectory() as cache_dir:
        calls, info = callers(name, modes, cache_dir)
        outputs = {mode: call() for mode, call in calls.items()}  # also the first warm-up
        for _ in range(warmup):
            for call in calls.values():
                call()
        times: dict[str, list[float]] = {mode: [] for mode in calls}
        order = list(calls)
        for i in range(steps):
            for mode in order[i % len(order):] + order[:i % len(order)]:
                start = time.perf_counter()
                calls[mode]()
                times[mode].append(time.perf_counter() - start)
    try:
        import onnxruntime
        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    rows = []
    eager = statistics.median(times["eager"]) if "eager" in times else None
    for mode, samples in times.items():
        median = statistics.median(samples)
        row = {"config": name, "suite": "inference", "mode": mode, **{
            k: v for k, v in info.items() if k != "modes"}, **info["modes"][mode],
            "median_s": median, "spread_s": [min(samples), max(samples)],
            "images_per_s": info["batch_size"] / median, "steps": steps, "warmup": warmup,
            "seed": 0, "cpu_capability": capability(torch.device("cpu")),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "onnxruntime": ort_version,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        if eager is not None:
            row["speedup_vs_eager"] = eager / median
            row["max_abs_diff_vs_eager"] = float((outputs[mode] - outputs["eager"]).abs().max())
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS),
                        help="only these configurations (repeatable)")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES),
                        help=f"comma-separated, from {', '.join(MODES)} (eager first)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        parser.error(f"--modes: unknown {', '.join(unknown) or '(none given)'}; "
                     f"expected some of {', '.join(MODES)}")
    rows = []
    for name in args.config or list(CONFIGS):
        for row in time_config(name, modes, args.steps, args.warmup):
            rows.append(row)
            ratio = f"x{row['speedup_vs_eager']:.2f}" if "speedup_vs_eager" in row else ""
            diff = f"max|d| {row['max_abs_diff_vs_eager']:.2g}" if ratio else ""
            print(f"{name:<12} {row['mode']:<12} {row['images_per_s']:9.2f} img/s {ratio:>6}  "
                  f"{diff:<14} {row['plan']} [{row['cpu_capability']}, "
                  f"{row['threads']} threads]", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"results": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
