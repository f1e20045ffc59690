"""The MLflow logger against a real ``mlflow server`` on 127.0.0.1 (sqlite store), read back
through ``MlflowClient``: metrics, params, tags, artifacts, and a resume that continues the same
MLflow run without logging a step twice."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ganzoo import Recipe
from ganzoo.base.errors import TrackerError
from ganzoo.training import rundir
from ganzoo.training.loop import resume, train

pytest.importorskip("mlflow")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` with a sqlite store and its own artifact folder; its URL."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow) if mlflow.exists() else shutil.which("mlflow"), "server",
               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
               "--artifacts-destination", str(root / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = open(root / "server.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                              # No background job runners (7 more processes importing mlflow).
                              env={**os.environ, "OMP_NUM_THREADS": "1",
                                   "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a shared CI box is slow to import mlflow
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.close()
                    pytest.fail(f"mlflow server did not start:\n"
                                f"{(root / 'server.log').read_text()[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def tracking(mlflow_server, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a test fails fast
    return MlflowClient(tracking_uri=mlflow_server)


def test_mlflow_gets_metrics_params_artifacts_and_a_resume_continues_the_run(
        tiny_recipe, tmp_path, tracking, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "ganzoo-test-resume")
    short = ["train.loggers=['mlflow']", "train.steps=4", "train.sample_every=4",
             "train.eval_metrics=['fd-digits']", "train.eval_samples=16"]
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, short), run_dir, progress=False)
    state = json.loads((run_dir / "mlflow.json").read_text())
    run_id = state["run_id"]
    assert state["tracking_uri"] == tracking.tracking_uri

    # As if the run had logged step 6 (to metrics.jsonl and MLflow), then been killed.
    from mlflow.entities import Metric

    rundir.append_record(run_dir, {"step": 6, "loss_d": 99.0, "loss_g": 99.0})
    tracking.log_batch(run_id, metrics=[Metric("loss/loss_d", 99.0, 0, 6)])
    longer = Recipe.from_toml(tiny_recipe, short[:1] + short[3:] + ["train.steps=8",
                                                                    "train.sample_every=4"])
    (run_dir / "recipe.toml").write_text(longer.to_toml())
    resume(run_dir, progress=False)

    experiment = tracking.get_experiment_by_name("ganzoo-test-resume")
    runs = tracking.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]  # one MLflow run, continued
    run = tracking.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r for r in records if "eval" not in r}
    history = {m.step: m.value for m in tracking.get_metric_history(run_id, "loss/loss_d")}
    # Every step once; step 6 was in MLflow already and is not logged again.
    assert sorted(m.step for m in tracking.get_metric_history(run_id, "loss/loss_d")) == [
        2, 4, 6, 8]
    assert history[8] == pytest.approx(logged[8]["loss_d"], abs=1e-6) and history[6] == 99.0
    assert sorted(m.step for m in tracking.get_metric_history(run_id, "speed/images_per_s")) \
        == [2, 4, 8]
    evals = [r for r in records if "eval" in r]
    assert sorted((m.step, m.value) for m in tracking.get_metric_history(run_id, "eval/fd-digits")) \
        == [(r["step"], pytest.approx(r["eval"]["fd-digits"])) for r in evals]
    params, tags = run.data.params, run.data.tags
    assert params["architecture"] == "dcgan" and params["model.z_dim"] == "8"
    assert params["train.steps"] == "4" and tags["resumed.train.steps"] == "8"
    assert params["train.loggers"] == "['mlflow']"
    assert (tags["ganzoo.device"], tags["ganzoo.processes"]) == ("cpu", "1")
    assert tags["ganzoo.precision"] == json.loads((run_dir / "run.json").read_text())["precision"]

    files = {a.path for a in tracking.list_artifacts(run_id)}
    assert {"recipe.toml", "run.json", "samples", "eval"} <= files
    assert {a.path for a in tracking.list_artifacts(run_id, "samples")} == {
        "samples/step-000004.png", "samples/step-000008.png", "samples/final.png"}
    down = Path(tracking.download_artifacts(run_id, "", str(tmp_path / "down")))
    assert (down / "samples" / "final.png").read_bytes() == (
        run_dir / "samples" / "final.png").read_bytes()
    # The recipe the run trained with: amp = "auto" as resolved when the run started.
    precision = rundir.recorded_precision(run_dir)
    assert Recipe.from_toml(down / "recipe.toml").train == longer.with_overrides(
        [f"train.amp='{precision}'"]).train
    assert json.loads((down / "run.json").read_text()) == json.loads(
        (run_dir / "run.json").read_text())
    protocol = json.loads((down / "eval" / "step-000008.json").read_text())
    assert protocol["scores"] == evals[-1]["eval"]
    assert protocol["protocol"] == evals[-1]["protocol"]


def test_a_resumed_run_whose_mlflow_run_is_gone_is_one_line(tiny_recipe, tmp_path, tracking,
                                                            monkeypatch):
    recipe = Recipe.from_toml(tiny_recipe, ["train.loggers=['mlflow']", "train.steps=2",
                                            "train.checkpoint_every=2"])
    run_dir = tmp_path / "run"
    train(recipe, run_dir, progress=False)
    (run_dir / "mlflow.json").write_text(json.dumps(
        {"tracking_uri": tracking.tracking_uri, "run_id": "0" * 32}))
    (run_dir / "recipe.toml").write_text(recipe.with_overrides(["train.steps=4"]).to_toml())
    with pytest.raises(TrackerError) as info:
        resume(run_dir, progress=False)
    assert str(info.value) == (
        f"logger 'mlflow': {run_dir / 'mlflow.json'}: MLflow run {'0' * 32} is not on the "
        f"tracking server {tracking.tracking_uri} (RestException); set MLFLOW_TRACKING_URI to "
        f"the server it was started on ({tracking.tracking_uri})")
