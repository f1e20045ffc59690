"""One switch of the fast training step, on and off, timed interleaved in one process.

    python -m benchmarks.variants --config dcgan-64 --switch channels_last --steps 16
    python -m benchmarks.variants --config pix2pix-128 --switch compile --steps 6

Both steps are ganzoo's fast path of :func:`benchmarks.run.setup` (``amp = "auto"`` resolved for
this machine). ``channels_last`` builds them with the memory layout forced off and on, and
``compile`` runs one of them with every network under ``torch.compile``, channels_last as the
architecture's default. The steps alternate after two warm-up steps each (compilation happens in
those, and its time is printed). Each step's CPU time is measured (``time.process_time``), so the
figures mean something on a shared machine. What ``benchmarks/RESULTS.md`` records about
channels_last and compile per architecture comes from this script, one thread
(``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def build(config: str, *, channels_last, compiled: bool = False):
    """The fast step of ``config`` with channels_last forced (or ``"auto"``), maybe compiled."""
    from . import run

    return run.setup(config, "train", "fast", "cpu", options={"channels_last": channels_last},
                     compile=compiled)


def compare(config: str, switch: str, steps: int) -> dict:
    import torch

    if switch == "channels_last":
        runs = {"off": build(config, channels_last=False), "on": build(config, channels_last=True)}
    else:
        runs = {"off": build(config, channels_last="auto"),
                "on": build(config, channels_last="auto", compiled=True)}
    warmup = {}
    for name, (once, _) in runs.items():
        start = time.perf_counter()
        once()
        once()
        warmup[name] = time.perf_counter() - start
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for i in range(steps):
        for name in order[i % 2:] + order[:i % 2]:
            start = time.process_time()
            runs[name][0]()
            cpu[name].append(time.process_time() - start)
    median = {name: statistics.median(values) for name, values in cpu.items()}
    return {"config": config, "switch": switch, "steps": steps,
            "amp": runs["off"][1]["options"]["amp"],
            "channels_last": {name: info["options"]["channels_last"]
                              for name, (_, info) in runs.items()},
            "capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "median_cpu_s": median,
            "warmup_wall_s": warmup, "speedup": median["off"] / median["on"]}


def main(argv: list[str] | None = None) -> None:
    from .configs import EXTRA, STANDARD

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, choices=sorted({*STANDARD, *EXTRA}))
    parser.add_argument("--switch", required=True, choices=["channels_last", "compile"])
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args(argv)
    result = compare(args.config, args.switch, args.steps)
    print(json.dumps(result))
    print(f"{args.config} {result['capability']} {result['amp']}: {args.switch} "
          f"x{result['speedup']:.2f} (CPU time per step, median of {args.steps})")


if __name__ == "__main__":
    main()
