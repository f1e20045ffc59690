"""Experiment trackers: where a run's losses, scores and sample grids go besides ``metrics.jsonl``.

``[train] loggers = ["tensorboard", "mlflow"]`` names loggers from the ``loggers`` registry
(``ganzoo list loggers``; a plugin adds its own with ``register_loggers``). The loop talks to
them through :class:`Trackers`, on the main process only:

- before anything is written, each logger's ``requires`` modules are imported (a missing one is
  a :class:`RecipeError` with its install line);
- once the run directory is ready, each is built and started with the run's :class:`RunInfo`;
  one that cannot start stops the run there (:class:`TrackerError`, nothing trained yet);
- while the run trains, a logger that raises is warned about once (:class:`TrackerWarning`)
  and dropped: the run goes on and ``metrics.jsonl`` keeps every step.

A resumed run starts its loggers with ``resumed=True``: each continues the run it tracked
before (the same TensorBoard folder, MLflow run, W&B run id) and logs no step twice.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs

import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import GanzooError, GanzooWarning, RecipeError, TrackerError
from ganzoo.config.recipe import Recipe
from ganzoo.plugin.registry import LoggerEntry, load_ref


class TrackerWarning(GanzooWarning):
    """A logger failed while the run trained; the run went on without it."""


@attrs.frozen(kw_only=True)
class RunInfo:
    """What a logger is told when a run (new or resumed) starts.

    ``hardware`` is the run's ``run.json`` record: versions of ganzoo, its plugins, torch and
    Python, the command line, the device, the precision ``amp`` resolved to, the process count.
    ``resume_step`` is the step training continues from (0 for a new run, and for a run that
    died before its first checkpoint and starts again). ``logged_step`` is the highest step the
    run had logged before (0 for a new run): steps up to it were logged already, to
    ``metrics.jsonl`` and to every logger that was running. A logger that can drop events
    (TensorBoard) drops those after ``resume_step``; one that cannot (MLflow, W&B) skips the
    steps it already holds: the resumed run recomputes exactly the same values.
    """

    run_dir: Path
    recipe: Recipe
    hardware: dict[str, Any]
    resumed: bool = False
    resume_step: int = 0
    logged_step: int = 0

    @property
    def name(self) -> str:
        """The run's name in a tracker: its folder's name."""
        return self.run_dir.resolve().name


@runtime_checkable
class Logger(Protocol):
    """An experiment tracker, as the training loop sees it. Steps never decrease."""

    def start(self, run: RunInfo) -> None:
        """Open (or, when ``run.resumed``, reopen) the run's tracking; log the resolved recipe
        and the hardware record."""

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        """Losses and throughput, averaged over the last ``log_every`` steps, by tag:
        ``loss/loss_d``, ``loss/loss_g``, ..., ``speed/images_per_s``."""

    def log_scores(self, step: int, scores: dict[str, float],
                   protocol: dict[str, dict[str, Any]]) -> None:
        """Evaluation scores by metric name (``fd-digits``), with the protocol each was
        measured under (the features, sample counts, seed: see ``ganzoo.metrics``)."""

    def log_images(self, step: int, name: str, png: Path) -> None:
        """A sample grid (``name`` is ``"samples"``), as the PNG file the run wrote."""

    def close(self) -> None:
        """Flush and close; called once, also when the run stops with an error."""


def logger_names(cfg) -> tuple[str, ...]:
    """The loggers a ``[train]`` table asks for: ``loggers``, and ``tensorboard = true`` (kept
    for older recipes) as ``"tensorboard"``."""
    names = tuple(dict.fromkeys(cfg.loggers))
    if cfg.tensorboard and "tensorboard" not in names:
        names += ("tensorboard",)
    return names


class Trackers:
    """The loggers of one run, started and called together; a failing one is dropped."""

    def __init__(self, entries: list[LoggerEntry], origin: dict[str, str] | None = None):
        self.entries = entries
        self._origin = origin or {}
        self.active: list[tuple[str, Logger]] = []

    @classmethod
    def for_config(cls, cfg) -> Trackers:
        """The loggers ``cfg`` asks for, their libraries checked: nothing is written yet."""
        names = logger_names(cfg)
        registry = plugins.registry("loggers")
        entries = [registry.get(name) for name in names]
        origin = {name: f"loggers = {list(cfg.loggers)!r}" for name in cfg.loggers}
        if cfg.tensorboard:
            origin.setdefault("tensorboard", "tensorboard = true")
        for entry in entries:
            for module in entry.requires:
                try:
                    __import__(module)
                except ImportError:
                    how = entry.install or f"pip install {module}"
                    undo = ("set tensorboard = false" if origin[entry.name] == "tensorboard = true"
                            else f"remove {entry.name!r} from loggers")
                    raise RecipeError(f"[train] {origin[entry.name]} needs the {module} package: "
                                      f"{how} (or {undo})") from None
        return cls(entries, origin)

    def start(self, run: RunInfo) -> None:
        """Build and start every logger; one that fails stops the run before it trains."""
        for entry in self.entries:
            try:
                logger = load_ref(entry.build)()
                logger.start(run)
            except GanzooError as exc:
                self.close()
                raise TrackerError(f"logger {entry.name!r}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - a tracker's own error, in one line
                self.close()
                raise TrackerError(
                    f"logger {entry.name!r} could not start: {type(exc).__name__}: "
                    f"{_first_line(exc)}; fix it (or remove it from [train] loggers) and "
                    f"continue with `ganzoo run --resume {run.run_dir}`") from None
            self.active.append((entry.name, logger))

    def _call(self, method: str, step: int, *args: Any) -> None:
        for name, logger in list(self.active):
            try:
                getattr(logger, method)(step, *args)
            except Exception as exc:  # noqa: BLE001 - never lose the run for a tracker
                self._drop(name, logger, f"at step {step}", exc)

    def _drop(self, name: str, logger: Logger, when: str, exc: BaseException) -> None:
        self.active.remove((name, logger))
        warnings.warn(f"logger {name!r} failed {when} ({type(exc).__name__}: "
                      f"{_first_line(exc)}); the run goes on without it, and metrics.jsonl "
                      "keeps every step", TrackerWarning, stacklevel=3)
        try:
            logger.close()
        except Exception:  # noqa: BLE001 - already reported
            pass

    def log_scalars(self, step: int, values: dict[str, float]) -> None:
        self._call("log_scalars", step, values)

    def log_scores(self, step: int, scores: dict[str, float],
                   protocol: dict[str, dict[str, Any]]) -> None:
        self._call("log_scores", step, scores, protocol)

    def log_images(self, step: int, name: str, png: Path) -> None:
        self._call("log_images", step, name, png)

    def close(self) -> None:
        for name, logger in list(self.active):
            try:
                logger.close()
            except Exception as exc:  # noqa: BLE001
                self.active.remove((name, logger))
                warnings.warn(f"logger {name!r} failed while closing ({type(exc).__name__}: "
                              f"{_first_line(exc)}); what it had not sent may be missing from "
                              "it (metrics.jsonl has every step)", TrackerWarning, stacklevel=2)
        self.active = []


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


def read_json(path: Path) -> dict[str, Any] | None:
    """A logger's small state file in the run directory (its run id), or None if absent or
    unreadable (then the logger starts a new tracked run)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
