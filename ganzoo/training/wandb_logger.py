"""The Weights & Biases logger (``[train] loggers = ["wandb"]``; ``pip install 'ganzoo[wandb]'``).

wandb's own settings apply (``WANDB_PROJECT``, ``WANDB_ENTITY``, ``WANDB_MODE``, ``wandb
login``); the project defaults to the recipe's name and the files go to ``RUN/wandb/``. With
``WANDB_MODE=offline`` nothing leaves the machine: ``wandb sync RUN/wandb/offline-run-*``
uploads the run later. What it gets: ``loss/...``, ``speed/images_per_s`` and ``eval/METRIC``
by step, the ``samples`` grids as images, the resolved recipe, the hardware record and each
score's protocol as the run's config.

``RUN/wandb.json`` records the W&B run id: a resumed run continues that run (``resume="allow"``)
and skips the steps it had logged before (W&B refuses steps that go back, and the resumed run
recomputes the same values).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ganzoo.base.io import atomic_write_json
from ganzoo.training.trackers import RunInfo, read_json

STATE_NAME = "wandb.json"


class WandbLogger:
    def __init__(self) -> None:
        self.run = None
        self.skip_upto = 0
        self._protocols: dict[str, dict] = {}

    def start(self, run: RunInfo) -> None:
        import wandb

        state = read_json(run.run_dir / STATE_NAME) if run.resumed else None
        run_id = str(state["id"]) if state and state.get("id") else secrets.token_hex(4)
        if state:
            self.skip_upto = run.logged_step
        self.run = wandb.init(
            project=None if os.environ.get("WANDB_PROJECT") else run.recipe.name,
            name=run.name, id=run_id, resume="allow", dir=str(run.run_dir),
            config={"recipe": run.recipe.to_dict(), "hardware": run.hardware},
            allow_val_change=True, reinit="create_new",
            # ganzoo's own progress bar stays on the terminal; the loop is the only stats
            # source worth a thread on a small machine.
            settings=wandb.Settings(console="off", x_disable_stats=True, silent=True))
        if not state:
            atomic_write_json(run.run_dir / STATE_NAME, {"id": run_id})

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        if step > self.skip_upto:
            self.run.log(dict(values), step=step)

    def log_scores(self, step: int, scores: dict[str, float], protocol: dict) -> None:
        if step <= self.skip_upto:
            return
        self.run.log({f"eval/{name}": value for name, value in scores.items()}, step=step)
        changed = {name: p for name, p in protocol.items() if self._protocols.get(name) != p}
        if changed:
            self._protocols.update(changed)
            self.run.config.update({"eval_protocol": dict(self._protocols)},
                                   allow_val_change=True)

    def log_images(self, step: int, name: str, png: Path) -> None:
        import wandb

        if step > self.skip_upto:
            self.run.log({name: wandb.Image(str(png))}, step=step)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
