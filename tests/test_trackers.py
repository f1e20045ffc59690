"""Experiment trackers (``[train] loggers``): what a logger receives, resume without repeated
steps, a logger that fails, unknown names and missing libraries."""

from __future__ import annotations

import json
import sys
import warnings

import pytest

import ganzoo
from ganzoo import Recipe, RecipeError
from ganzoo.base.errors import TrackerError
from ganzoo.training import rundir
from ganzoo.training.loop import resume, train
from ganzoo.training.trackers import Logger, TrackerWarning

CALLS: list[tuple] = []


class RecordingLogger:
    """Every call, in order, into CALLS."""

    def start(self, run):
        CALLS.append(("start", run))

    def log_scalars(self, step, values):
        CALLS.append(("scalars", step, dict(values)))

    def log_scores(self, step, scores, protocol):
        CALLS.append(("scores", step, dict(scores), protocol))

    def log_images(self, step, name, png):
        CALLS.append(("images", step, name, png.name, png.read_bytes()))

    def close(self):
        CALLS.append(("close",))


class FailingLogger(RecordingLogger):
    """Fails at its second log_scalars call, as a tracker whose server went away."""

    def __init__(self):
        self.calls = 0

    def start(self, run):
        pass

    def log_scalars(self, step, values):
        self.calls += 1
        if self.calls == 2:
            raise ConnectionError("tracking server went away\nsecond line of a traceback")

    def close(self):
        CALLS.append(("failing-close",))


class NoStartLogger(RecordingLogger):
    def start(self, run):
        raise RuntimeError("cannot reach http://127.0.0.1:9")


class Plugin:
    @ganzoo.hookimpl
    def register_loggers(self, registry):
        registry.add(name="recording", build=f"{__name__}:RecordingLogger")
        registry.add(name="failing", build=f"{__name__}:FailingLogger")
        registry.add(name="no-start", build=f"{__name__}:NoStartLogger")


@pytest.fixture
def loggers(ganzoo_plugins):
    ganzoo_plugins.register_plugin(Plugin(), "test-loggers")
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def of(kind, calls):
    return [c for c in calls if c[0] == kind]


def test_a_plugin_logger_gets_losses_scores_grids_recipe_and_hardware_and_resumes(
        tiny_recipe, tmp_path, loggers):
    assert isinstance(RecordingLogger(), Logger)
    short = ["train.loggers=['recording']", "train.steps=4", "train.sample_every=4",
             "train.eval_metrics=['fd-digits']", "train.eval_samples=16"]
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, short), run_dir, progress=False)

    (_, run), *_ = loggers
    assert (run.run_dir, run.resumed, run.resume_step, run.logged_step) == (run_dir, False, 0, 0)
    assert run.recipe.to_toml() == (run_dir / "recipe.toml").read_text() and run.name == "run"
    assert run.hardware == json.loads((run_dir / "run.json").read_text())
    assert run.hardware["device"] == "cpu" and run.hardware["processes"] == 1
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in records if "eval" not in r]
    assert [(c[1], c[2]) for c in of("scalars", loggers)] == [
        (r["step"], {"loss/loss_d": pytest.approx(r["loss_d"], abs=1e-6),
                     "loss/loss_g": pytest.approx(r["loss_g"], abs=1e-6),
                     "speed/images_per_s": r["images_per_s"]}) for r in losses]
    (_, step, scores, protocol), = of("scores", loggers)
    evaluated = next(r for r in records if "eval" in r)
    assert (step, scores, protocol) == (4, evaluated["eval"], evaluated["protocol"])
    assert protocol["fd-digits"]["n_fake"] == 16
    assert [(c[1], c[2], c[3]) for c in of("images", loggers)] == [
        (4, "samples", "step-000004.png"), (4, "samples", "final.png")]
    assert of("images", loggers)[1][4] == (run_dir / "samples" / "final.png").read_bytes()
    assert loggers[-1] == ("close",)

    # It died at step 6 after its checkpoint at step 4 (a line logged, then killed); resumed,
    # the logger knows what it holds and the run logs steps 6 and 8 again, as metrics.jsonl.
    rundir.append_record(run_dir, {"step": 6, "loss_d": 99.0, "loss_g": 99.0})
    longer = Recipe.from_toml(tiny_recipe, short[:1] + ["train.steps=8"])
    (run_dir / "recipe.toml").write_text(longer.to_toml())
    loggers.clear()
    resume(run_dir, progress=False)
    (_, run), *_ = loggers
    assert (run.resumed, run.resume_step, run.logged_step) == (True, 4, 6)
    assert run.recipe.train.steps == 8
    assert [c[1] for c in of("scalars", loggers)] == [6, 8]
    assert 99.0 not in [v for c in of("scalars", loggers) for v in c[2].values()]


def test_a_logger_that_fails_mid_run_is_warned_about_once_and_the_run_finishes(
        tiny_recipe, tmp_path, loggers):
    recipe = Recipe.from_toml(tiny_recipe, ["train.loggers=['failing', 'recording']"])
    with pytest.warns(TrackerWarning) as caught:
        result = train(recipe, tmp_path / "run", progress=False)
    messages = [str(w.message) for w in caught if w.category is TrackerWarning]
    assert messages == ["logger 'failing' failed at step 4 (ConnectionError: tracking server "
                        "went away); the run goes on without it, and metrics.jsonl keeps every "
                        "step"]
    assert result.status == "finished" and (tmp_path / "run" / "weights").is_dir()
    # The other logger and metrics.jsonl have every step; the failed one was closed.
    assert [c[1] for c in of("scalars", loggers)] == [2, 4, 6, 8, 10, 12]
    assert rundir.last_logged_step(tmp_path / "run") == 12
    assert loggers.count(("failing-close",)) == 1


def test_a_logger_that_cannot_start_stops_the_run_in_one_line(tiny_recipe, tmp_path, loggers):
    recipe = Recipe.from_toml(tiny_recipe, ["train.loggers=['recording', 'no-start']"])
    with pytest.raises(TrackerError) as info:
        train(recipe, tmp_path / "run", progress=False)
    assert str(info.value) == (
        "logger 'no-start' could not start: RuntimeError: cannot reach http://127.0.0.1:9; fix "
        "it (or remove it from [train] loggers) and continue with `ganzoo run --resume "
        f"{tmp_path / 'run'}`")
    assert of("close", loggers) == [("close",)]  # the one that had started is closed
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_an_unknown_logger_is_one_line_listing_the_known_ones(tiny_recipe, ganzoo_plugins):
    with pytest.raises(RecipeError) as info:
        Recipe.from_toml(tiny_recipe, ["train.loggers=['mlfow']"])
    assert str(info.value) == (
        f"{tiny_recipe}: [train] loggers: 'mlfow' is not a registered logger (did you mean "
        "'mlflow'?); the loggers are: mlflow, tensorboard, wandb")


@pytest.mark.parametrize("name", ["mlflow", "wandb", "tensorboard"])
def test_a_missing_tracker_library_is_its_pip_line_before_anything_is_written(
        tiny_recipe, tmp_path, monkeypatch, name):
    monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    recipe = Recipe.from_toml(tiny_recipe, [f"train.loggers=['{name}']"])
    with pytest.raises(RecipeError) as info:
        train(recipe, tmp_path / "run", progress=False)
    assert str(info.value) == (f"[train] loggers = ['{name}'] needs the {name} package: pip "
                               f"install 'ganzoo[{name}]' (or remove '{name}' from loggers)")
    assert not (tmp_path / "run").exists()


def test_tensorboard_true_is_the_tensorboard_logger(tiny_recipe):
    from ganzoo.training.trackers import logger_names

    cfg = Recipe.from_toml(tiny_recipe, ["train.tensorboard=true", "train.loggers=['wandb']"])
    assert logger_names(cfg.train) == ("wandb", "tensorboard")
    assert logger_names(Recipe.from_toml(tiny_recipe).train) == ()


def test_ganzoo_list_loggers(cli):
    result = cli("list", "loggers")
    assert result.exit_code == 0
    assert all(name in result.output for name in ("tensorboard", "mlflow", "wandb"))


def test_the_cli_says_an_unknown_logger_and_a_failed_start_in_one_line(cli, tiny_recipe, tmp_path,
                                                                       loggers):
    result = cli("run", tiny_recipe, "--set", "train.loggers=['tensorbord']",
                 "--out", tmp_path / "a")
    assert result.exit_code != 0 and result.output.count("\n") == 1
    assert result.output == (f"ganzoo: {tiny_recipe}: [train] loggers: 'tensorbord' is not a "
                             "registered logger (did you mean 'tensorboard'?); the loggers are: "
                             "failing, mlflow, no-start, recording, tensorboard, wandb\n")
    result = cli("run", tiny_recipe, "--set", "train.loggers=['no-start']", "--out", tmp_path / "b")
    assert result.exit_code != 0 and result.output.count("\n") == 1
    assert result.output.startswith("ganzoo: logger 'no-start' could not start: RuntimeError: ")


def test_the_cli_shows_a_dropped_logger_as_one_warning_line(cli, tiny_recipe, tmp_path, loggers,
                                                            capsys):
    from ganzoo.apps import cli as cli_module

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = cli_module._show_warning  # as ganzoo's main() installs it
        result = cli("run", tiny_recipe, "--set", "train.loggers=['failing']", "--set",
                     "train.steps=4", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "warning" in line]
    assert warned == ["ganzoo: warning: logger 'failing' failed at step 4 (ConnectionError: "
                      "tracking server went away); the run goes on without it, and "
                      "metrics.jsonl keeps every step"]
