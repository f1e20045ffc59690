"""The TensorBoard logger (``[train] loggers = ["tensorboard"]``, or ``tensorboard = true``).

Everything written to ``metrics.jsonl`` goes to TensorBoard too: losses under ``loss/``,
throughput under ``speed/``, evaluation scores under ``eval/``, and each sample grid as an image.
A resumed run purges the events logged after its checkpoint, as ``metrics.jsonl`` is truncated,
so the curves never show a step twice.
"""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = "tensorboard"


class TensorBoardLogger:
    """A ``SummaryWriter`` on ``RUN/tensorboard``, opened on first use."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.purge_step: int | None = None
        self._writer = None

    def start(self, run) -> None:
        self.folder = run.run_dir / FOLDER
        # Events after the checkpoint's step were logged before a crash and are logged
        # again; TensorBoard hides those at or beyond ``purge_step``.
        self.purge_step = run.resume_step + 1 if run.resumed else None
        self.writer.add_text("recipe", _code(run.recipe.to_toml()), run.resume_step)
        self.writer.add_text("hardware", _code(json.dumps(run.hardware, indent=2)),
                             run.resume_step)

    @property
    def writer(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.folder), purge_step=self.purge_step)
        return self._writer

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def log_scores(self, step: int, scores: dict[str, float], protocol: dict) -> None:
        for name, value in scores.items():
            self.writer.add_scalar(f"eval/{name}", value, step)
            if name in protocol:
                self.writer.add_text(f"eval/{name}/protocol",
                                     _code(json.dumps(protocol[name], indent=2)), step)

    def log_images(self, step: int, name: str, png: Path) -> None:
        import numpy as np
        from PIL import Image

        with Image.open(png) as image:
            array = np.asarray(image.convert("RGB"))
        self.writer.add_image(name, array, step, dataformats="HWC")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _code(text: str) -> str:
    """TensorBoard renders text summaries as Markdown: keep the text as it is."""
    return "\n".join("    " + line for line in text.splitlines())
