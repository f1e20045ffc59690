"""The run directory: what a run writes, and the checks that keep one run from clobbering another.

```
RUN/
  recipe.toml              the fully resolved recipe (re-read by --resume)
  run.json                 versions of ganzoo, its plugins, torch; the command line; the device
                           and the precision it trained in
  metrics.jsonl            one JSON object per logged step
  samples/step-000500.png  sample grids; samples/final.png at the end
  checkpoint.safetensors   the latest checkpoint (atomic)
  weights/                 the final bundle (see ganzoo.hub.bundle), with a model card: what
                           `ganzoo.load(RUN)` loads and `ganzoo push RUN REPO` uploads
```
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ganzoo.plugin.manager as plugins
from ganzoo._version import __version__
from ganzoo.base.errors import RunDirError, WriteError
from ganzoo.base.io import atomic_write_json, atomic_write_text
from ganzoo.config.recipe import Recipe
from ganzoo.config.train_config import PRECISIONS

LOCK_NAME = ".lock"
RECIPE_NAME = "recipe.toml"
RUN_INFO_NAME = "run.json"
METRICS_NAME = "metrics.jsonl"


WEIGHTS_DIR = "weights"


def write_weights(run_dir: Path, model, *, state, recipe: Recipe, metrics: dict) -> Path:
    """Write the run's final bundle: networks, training part, sample grid and model card."""
    from ganzoo.hub.bundle import write_bundle
    from ganzoo.base.io import atomic_write_with

    folder = run_dir / WEIGHTS_DIR
    write_bundle(model, folder, state=state, training_files={
        "checkpoint.safetensors": run_dir / "checkpoint.safetensors",
        RECIPE_NAME: run_dir / RECIPE_NAME,
    })
    final = run_dir / "samples" / "final.png"
    if final.exists():
        atomic_write_with(folder / "sample.png", lambda tmp: shutil.copyfile(final, tmp))
    write_card(run_dir, load_name=str(run_dir), metrics=metrics)
    return folder


def write_card(run_dir: Path, *, load_name: str, metrics: dict | None = None,
               license: str | None = None) -> None:
    """(Re)write the model card of a run's bundle, e.g. with the Hub repo id it is pushed to."""
    from ganzoo.hub.bundle import read_index
    from ganzoo.hub.card import make_card

    folder = run_dir / WEIGHTS_DIR
    recipe_text = (run_dir / RECIPE_NAME).read_text(encoding="utf-8")
    recipe = Recipe.from_toml(run_dir / RECIPE_NAME)
    if metrics is None:
        metrics = final_metrics(run_dir)
    card = make_card(read_index(folder), load_name=load_name, license=license,
                     datasets=[recipe.data.dataset], recipe=recipe_text,
                     metrics={k: v for k, v in metrics.items() if k != "images_per_s"},
                     sample="sample.png" if (folder / "sample.png").exists() else None)
    atomic_write_text(folder / "README.md", str(card))


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock: a second process training into it is refused at once.

    The lock is an OS file lock, so a killed run never leaves a stale one behind. The folder is
    created here if needed; if what follows refuses it (a folder holding files, a full disk),
    the lock, pid file and a folder created here are removed again: a refused ``--out`` is left
    as it was. While held, writes inside the folder never re-create it (:data:`ganzoo.base.io.RUN_ROOT`)
    and temporary files that killed writes left behind are cleaned up.
    """
    from filelock import FileLock, Timeout

    from ganzoo.base.errors import GanzooError
    from ganzoo.base.io import RUN_ROOT, remove_stale_temp_files

    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: exists and is not a directory; choose a folder for --out")
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the output folder: "
                          f"{exc.strerror or exc}") from None
    lock_path, pid_path = run_dir / LOCK_NAME, run_dir / "run.pid"
    had = {p for p in (lock_path, pid_path) if p.exists()}
    lock = FileLock(lock_path, timeout=0)

    def undo() -> None:
        for leftover in (pid_path, lock_path):
            if leftover not in had:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        if created:
            with contextlib.suppress(OSError):
                run_dir.rmdir()  # only if empty

    try:
        lock.acquire()
    except Timeout:
        owner = ""
        with contextlib.suppress(OSError, ValueError):
            owner = f" (pid {int(pid_path.read_text())})"
        raise RunDirError(f"{run_dir}: another ganzoo process is training here{owner}; wait for "
                          "it to finish, or choose another --out") from None
    except OSError as exc:
        undo()
        raise RunDirError(f"{run_dir}: cannot use this folder for a run: cannot create its lock "
                          f"file ({exc.strerror or exc}); choose a writable --out") from None
    token = RUN_ROOT.set(Path(os.path.abspath(run_dir)))
    try:
        try:
            pid_path.write_text(str(os.getpid()))
        except OSError as exc:
            raise RunDirError(f"{pid_path}: cannot write ({exc.strerror or exc}); choose a "
                              "writable --out with free space") from None
        if (run_dir / RECIPE_NAME).is_file() and (run_dir / RUN_INFO_NAME).is_file():
            remove_stale_temp_files(run_dir)  # a run being resumed: its own leftovers only
        yield
    except GanzooError:  # refused, or stopped with one line: leave no lock or pid file behind
        lock.release()
        undo()
        raise
    finally:
        RUN_ROOT.reset(token)
        if lock.is_locked:
            lock.release()


def append_record(run_dir: Path, record: dict) -> None:
    """Append one JSON line to the run's ``metrics.jsonl``."""
    path = run_dir / METRICS_NAME
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    except OSError as exc:
        raise WriteError(f"{path}: cannot append to the run's log ({exc.strerror or exc}); was "
                         "the run directory moved or removed while it trained?") from None


def final_metrics(run_dir: Path) -> dict:
    """The last logged losses merged with the last evaluation scores of a run."""
    losses, scores = {}, {}
    path = run_dir / METRICS_NAME
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if "eval" in record:
                scores = record["eval"]
            else:
                losses = record
    return {**losses, **scores}


def default_run_dir(recipe: Recipe) -> Path:
    return Path("runs") / f"{recipe.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_new(run_dir: Path, recipe: Recipe, hardware: dict | None = None) -> None:
    """Create ``run_dir`` for a new run; refuse one that already holds files. ``hardware``
    (the device, the precision ``amp = "auto"`` resolved to, the process count) joins run.json."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: exists and is not a directory")
    if run_dir.is_dir() and any(p.name not in (LOCK_NAME, "run.pid") for p in run_dir.iterdir()):
        hint = (f"continue it with `ganzoo run --resume {run_dir}`"
                if (run_dir / RECIPE_NAME).exists() else "choose an empty or new --out folder")
        raise RunDirError(f"{run_dir}: the output folder is not empty; {hint}")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the output folder: {exc.strerror}") from None
    atomic_write_text(run_dir / RECIPE_NAME, recipe.to_toml())
    import torch

    atomic_write_json(run_dir / RUN_INFO_NAME, {
        "ganzoo": __version__,
        "plugins": {p.name: {"distribution": p.distribution, "version": p.version}
                    for p in plugins.plugins()},
        "torch": torch.__version__,
        "python": platform.python_version(),
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(hardware or {}),
    })


def run_info(run_dir: Path) -> dict:
    """The run's ``run.json`` record ({} for a run that has none readable)."""
    try:
        info = json.loads((run_dir / RUN_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def recorded_precision(run_dir: Path) -> str | None:
    """The precision a run started in (from run.json); None for runs that did not record it."""
    try:
        info = json.loads((run_dir / RUN_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    precision = info.get("precision") if isinstance(info, dict) else None
    return precision if precision in PRECISIONS else None


def recipe_of(run_dir: Path) -> Recipe:
    """The resolved recipe a run was started with."""
    path = run_dir / RECIPE_NAME
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    if not path.is_file():
        raise RunDirError(f"{run_dir}: not a ganzoo run directory (no {RECIPE_NAME})")
    return Recipe.from_toml(path)


def last_logged_step(run_dir: Path) -> int:
    """The highest step in the run's ``metrics.jsonl`` (0 when nothing was logged)."""
    path = run_dir / METRICS_NAME
    last = 0
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines:
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            last = max(last, int(json.loads(line).get("step", 0)))
    return last


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop metric lines logged after ``step`` (written before a crash, to be logged again)."""
    path = run_dir / METRICS_NAME
    if not path.exists():
        return
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except ValueError:
            continue  # a line cut short by a kill
    atomic_write_text(path, "".join(f"{line}\n" for line in keep))
