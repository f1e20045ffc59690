"""The MLflow logger (``[train] loggers = ["mlflow"]``; ``pip install 'ganzoo[mlflow]'``).

The run is tracked on ``MLFLOW_TRACKING_URI`` (MLflow's own default when unset) in the
experiment ``MLFLOW_EXPERIMENT_NAME``, else one named after the recipe. What it gets:

- metrics: ``loss/...`` and ``speed/images_per_s`` every ``log_every`` steps, ``eval/METRIC``;
- params: the resolved recipe, flattened (``train.batch_size``); tags: architecture, dataset,
  device, precision, the run folder;
- artifacts: ``recipe.toml``, ``run.json`` (the hardware record), ``samples/*.png``,
  ``eval/step-NNNNNN.json`` (the scores with their protocol).

``RUN/mlflow.json`` records the tracking URI and the MLflow run id: a resumed run continues
that MLflow run and skips the steps it already holds (a run cannot drop logged values, and the
resumed run recomputes the same ones). A key ``--set`` on resume changes cannot be changed
as an MLflow param: the new value is set as the tag ``resumed.KEY``. The run is marked
FINISHED when the run's weights are written, KILLED when it stops before (resume revives it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ganzoo.base.errors import GanzooError
from ganzoo.base.io import atomic_write_json
from ganzoo.training.trackers import RunInfo, read_json

STATE_NAME = "mlflow.json"
_MAX_PARAM = 6000  # characters of a param value MLflow stores
_BATCH = 100  # params or tags per log_batch call


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"steps": 10}}`` -> ``{"train.steps": "10"}`` (MLflow params are strings)."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(list(value) if isinstance(value, tuple) else value)[
                :_MAX_PARAM]
    return out


class MLflowLogger:
    def __init__(self) -> None:
        self.client = None
        self.run_id: str | None = None
        self.run_dir: Path | None = None
        self.skip_upto = 0  # steps at or below this one are in the MLflow run already

    def start(self, run: RunInfo) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param, RunStatus, RunTag

        self.run_dir = run.run_dir
        state = read_json(run.run_dir / STATE_NAME) if run.resumed else None
        uri = os.environ.get("MLFLOW_TRACKING_URI") or (state or {}).get("tracking_uri")
        self.client = MlflowClient(tracking_uri=uri)
        uri = self.client.tracking_uri
        existing: dict[str, str] = {}
        if state and state.get("run_id"):
            self.run_id = str(state["run_id"])
            try:
                tracked = self.client.get_run(self.run_id)
            except Exception as exc:  # noqa: BLE001 - MLflow's errors are its own types
                raise GanzooError(
                    f"{run.run_dir / STATE_NAME}: MLflow run {self.run_id} is not on the "
                    f"tracking server {uri} ({type(exc).__name__}); set MLFLOW_TRACKING_URI to "
                    f"the server it was started on ({state.get('tracking_uri')})") from None
            existing = dict(tracked.data.params)
            self.skip_upto = self._last_step(tracked)
            self.client.update_run(self.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        else:
            experiment = (os.environ.get("MLFLOW_EXPERIMENT_NAME") or run.recipe.name)
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = (found.experiment_id if found is not None
                             else self.client.create_experiment(experiment))
            self.run_id = self.client.create_run(experiment_id, run_name=run.name).info.run_id
            atomic_write_json(run.run_dir / STATE_NAME,
                              {"tracking_uri": uri, "experiment_id": experiment_id,
                               "run_id": self.run_id})
        params = flatten(run.recipe.to_dict())
        new = [Param(k, v) for k, v in params.items() if k not in existing]
        tags = [RunTag(f"resumed.{k}", v[:_MAX_PARAM]) for k, v in params.items()
                if k in existing and existing[k] != v]
        hardware = run.hardware
        tags += [RunTag(f"ganzoo.{k}", str(v)) for k, v in {
            "architecture": run.recipe.architecture, "dataset": run.recipe.data.dataset,
            "device": hardware.get("device"), "precision": hardware.get("precision"),
            "processes": hardware.get("processes"), "version": hardware.get("ganzoo"),
            "run_dir": run.run_dir.resolve()}.items() if v is not None]
        for i in range(0, max(len(new), len(tags)), _BATCH):
            self.client.log_batch(self.run_id, params=new[i:i + _BATCH], tags=tags[i:i + _BATCH])
        self.client.log_text(self.run_id, run.recipe.to_toml(), "recipe.toml")
        self.client.log_dict(self.run_id, hardware, "run.json")

    def _last_step(self, tracked) -> int:
        last = 0
        for key in tracked.data.metrics:
            for point in self.client.get_metric_history(self.run_id, key):
                last = max(last, point.step)
        return last

    def _metrics(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        if step <= self.skip_upto:
            return
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, float(value), now, step)
                                                    for key, value in values.items()])

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        self._metrics(step, values)

    def log_scores(self, step: int, scores: dict[str, float], protocol: dict) -> None:
        if step <= self.skip_upto:
            return
        self._metrics(step, {f"eval/{name}": value for name, value in scores.items()})
        self.client.log_dict(self.run_id, {"step": step, "scores": scores, "protocol": protocol},
                             f"eval/step-{step:06d}.json")

    def log_images(self, step: int, name: str, png: Path) -> None:
        # Same name, same file: a grid logged again after a resume replaces itself.
        self.client.log_artifact(self.run_id, str(png), name)

    def close(self) -> None:
        if self.client is None or self.run_id is None:
            return
        from ganzoo.training.rundir import WEIGHTS_DIR

        done = (self.run_dir / WEIGHTS_DIR).is_dir()
        self.client.set_terminated(self.run_id, "FINISHED" if done else "KILLED")
        self.client = None
