"""Optional TensorBoard logging beside ``metrics.jsonl`` (``[train] tensorboard = true``).

Everything written to ``metrics.jsonl`` goes to TensorBoard too: losses under ``loss/``,
throughput under ``speed/``, evaluation scores under ``eval/``, and each sample grid as an image.
A resumed run purges the events logged after its checkpoint, as ``metrics.jsonl`` is truncated,
so the curves never show a step twice.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo.base.errors import RecipeError
from ganzoo.base.extras import require

FOLDER = "tensorboard"


def check_available() -> None:
    """Fail before the run starts when the recipe asks for TensorBoard and it is not installed."""
    require("tensorboard", "tensorboard", error=RecipeError,
            what="[train] tensorboard = true", otherwise="set tensorboard = false")


class TensorBoardLog:
    """A ``SummaryWriter`` on ``RUN/tensorboard``, opened on first use."""

    def __init__(self, run_dir: Path, *, start_step: int):
        self.folder = run_dir / FOLDER
        self.start_step = start_step
        self._writer = None

    @property
    def writer(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            # Events after the checkpoint's step were logged before a crash and are logged
            # again; TensorBoard hides those at or beyond ``purge_step``.
            self._writer = SummaryWriter(str(self.folder),
                                         purge_step=self.start_step + 1 if self.start_step else None)
        return self._writer

    def scalars(self, step: int, values: dict[str, float], prefix: str) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def image(self, tag: str, png: Path, step: int) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(png) as image:
            array = np.asarray(image.convert("RGB"))
        self.writer.add_image(tag, array, step, dataformats="HWC")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
