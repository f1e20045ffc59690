"""The inference options the drawing verbs share (``generate``/``sample``, ``translate``,
``upscale``): ``--precision``, ``--compile``, ``--backend``, ``--onnx``, and :func:`runner`,
which turns them into what computes (a :class:`ganzoo.nn.inference.FastPath` or an
:class:`ganzoo.apps.onnx_runtime.OnnxSession`). Importing it imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

#: ``ganzoo.nn.inference.PRECISIONS`` (spelt here so that ``--help`` needs no torch; a test
#: keeps them equal).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BACKENDS = ("torch", "onnxruntime")


def inference_options(command: Callable) -> Callable:
    """Add the shared inference options to a click command (as ``precision``,
    ``compile_``, ``backend`` and ``onnx`` parameters)."""
    options = [
        click.option("--precision", default="fp32", show_default=True,
                     type=click.Choice(PRECISIONS),
                     help="fp32: the exact path (a seed gives the same images on every "
                          "machine); auto: the device's fast path (bf16 autocast where native, "
                          "channels_last where it pays); bf16/fp16: that autocast."),
        click.option("--compile", "compile_", is_flag=True,
                     help="torch.compile the generator (the first call of each input size "
                          "compiles, which takes seconds to minutes)."),
        click.option("--backend", default="torch", show_default=True,
                     type=click.Choice(BACKENDS),
                     help="onnxruntime: run the generator's ONNX export (made once and cached "
                          "by its weights' hash; pip install 'ganzoo[export]')."),
        click.option("--onnx", "onnx", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
                     help="An existing ONNX export of MODEL to run (implies --backend "
                          "onnxruntime)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def onnxruntime(backend: str, onnx: Path | None) -> bool:
    """Do these options run onnxruntime (``--backend onnxruntime`` or ``--onnx FILE``)?"""
    return backend == "onnxruntime" or onnx is not None


def runner(net, *, precision: str, compile_: bool, backend: str, onnx: Path | None,
           direction: str | None = None):
    """What computes ``net``'s verbs for these options; a usage error for options that do not
    go together."""
    if onnxruntime(backend, onnx):
        if precision != "fp32" or compile_:
            given = "--compile" if compile_ else f"--precision {precision}"
            raise click.UsageError(f"{given} is for the torch backend; onnxruntime runs the "
                                   "fp32 export")
        return net.onnx_session(onnx, direction=direction)
    return net.fast_path(precision=precision, compile=compile_)


def is_default(precision: str, compile_: bool, backend: str, onnx: Path | None) -> bool:
    """The options as they are when none is given (the model's plain fp32 path)."""
    return precision == "fp32" and not compile_ and backend == "torch" and onnx is None
