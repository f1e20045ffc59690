"""``ganzoo report RUN_DIR``: one self-contained HTML page about a run.

The page holds the loss curves (matplotlib, drawn to PNG), the sample grids written over the run,
the evaluation scores with their protocol, the resolved recipe and the environment it ran in.
Every image is embedded as a data URI, so the file can be mailed, attached to an issue or opened
from anywhere without the run directory beside it.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from ganzoo.base.errors import GanzooError, RunDirError
from ganzoo.base.extras import require
from ganzoo.base.io import atomic_write_text
from ganzoo.training import rundir

REPORT_NAME = "report.html"
_SAMPLE = re.compile(r"step-(\d+)\.png")


def read_records(run_dir: Path) -> tuple[list[dict], list[dict]]:
    """The loss records and the evaluation records of ``metrics.jsonl``, in order.

    A line cut short by a kill (the last one of a crashed run) is skipped, as training does.
    """
    path = run_dir / rundir.METRICS_NAME
    losses, evals = [], []
    if path.exists():
        text = _read(path, METRICS_LIMIT).decode("utf-8", errors="replace")
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(record, dict) or not _is_step(record.get("step")):
                continue  # not a line training wrote
            if "eval" in record:
                if isinstance(record["eval"], dict):
                    evals.append(record)
            else:
                losses.append(record)
    return losses, evals


METRICS_LIMIT = 256 << 20
SAMPLE_LIMIT = 64 << 20


def _is_step(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _read(path: Path, limit: int) -> bytes:
    """A regular file of the run, not through a symbolic link: the report embeds what it reads,
    so a link to /etc/passwd named like a sample must not end up in the page."""
    from ganzoo.base.io import read_bytes_limited

    if path.is_symlink():
        raise RunDirError(f"{path}: a symbolic link; the report embeds only the run's own files")
    try:
        return read_bytes_limited(path, error=RunDirError, limit=limit)
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read ({exc.strerror or exc})") from None


def loss_curves(records: list[dict]) -> bytes | None:
    """A PNG of every logged loss against the step (one panel), and throughput (a second)."""
    if not records:
        return None
    Figure = require("matplotlib.figure", "report", what="ganzoo report's loss curves").Figure
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for record in records:
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                series[key].append((record["step"], value))
    speed = series.pop("images_per_s", [])
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    ax_loss, ax_speed = fig.subplots(1, 2, width_ratios=[2.2, 1])
    for name, points in sorted(series.items()):
        steps, values = zip(*points, strict=True)
        ax_loss.plot(steps, values, label=name, linewidth=1.2)
    ax_loss.set(xlabel="step", ylabel="loss", title="losses (averaged per log window)")
    ax_loss.grid(alpha=0.3)
    if series:
        ax_loss.legend(fontsize=8)
    if speed:
        steps, values = zip(*speed, strict=True)
        ax_speed.plot(steps, values, color="tab:gray", linewidth=1.2)
    ax_speed.set(xlabel="step", ylabel="images/s", title="throughput")
    ax_speed.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def sample_grids(run_dir: Path) -> list[tuple[str, bytes]]:
    """``(caption, png)`` for each sample grid of the run: by step, then the final one."""
    folder = run_dir / "samples"
    if not folder.is_dir():
        return []
    steps = sorted((int(m[1]), p) for p in folder.iterdir() if (m := _SAMPLE.fullmatch(p.name)))
    grids = [(f"step {step}", _read(path, SAMPLE_LIMIT)) for step, path in steps]
    if (folder / "final.png").exists() or (folder / "final.png").is_symlink():
        grids.append(("final", _read(folder / "final.png", SAMPLE_LIMIT)))
    return grids


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _evaluations(evals: list[dict]) -> dict[str, Any]:
    """A table of scores by step, and the protocol of each metric's last evaluation."""
    names = sorted({name for record in evals for name in record["eval"]})
    rows = [(record["step"], [record["eval"].get(name) for name in names]) for record in evals]
    protocols = {}
    for record in evals:
        protocols.update(record.get("protocol", {}))
    return {"names": names, "rows": rows,
            "protocols": {k: json.dumps(v, indent=2, sort_keys=True) for k, v in protocols.items()}}


def render(run_dir: Path) -> str:
    """The report of ``run_dir`` as an HTML string."""
    import jinja2

    recipe_path = run_dir / rundir.RECIPE_NAME
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    if not recipe_path.is_file():
        raise RunDirError(f"{run_dir}: not a ganzoo run directory (no {rundir.RECIPE_NAME})")
    losses, evals = read_records(run_dir)
    info_path = run_dir / rundir.RUN_INFO_NAME
    info = {}
    if info_path.exists():
        try:
            info = json.loads(_read(info_path, 1 << 20))
        except (ValueError, RecursionError):
            raise RunDirError(f"{info_path}: damaged (not JSON); delete it or restore it to "
                              "write a report") from None
        if not isinstance(info, dict) or not isinstance(info.get("plugins", {}), dict):
            raise RunDirError(f"{info_path}: damaged (not a ganzoo run.json object)")
    command = info.get("command")
    info = {**info, "command": command if isinstance(command, list)
            and all(isinstance(a, str) for a in command) else []}
    curves = loss_curves(losses)
    recipe = rundir.recipe_of(run_dir)
    env = jinja2.Environment(loader=jinja2.PackageLoader("ganzoo", "templates/report"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(
        title=f"{recipe.name} — ganzoo run report",
        run_dir=str(run_dir),
        architecture=recipe.architecture,
        steps_done=losses[-1]["step"] if losses else 0,
        steps_total=recipe.train.steps,
        finished=(run_dir / "weights" / "config.json").is_file(),
        last=losses[-1] if losses else {},
        curves=_data_uri(curves) if curves else None,
        grids=[(caption, _data_uri(png)) for caption, png in sample_grids(run_dir)],
        evaluation=_evaluations(evals),
        recipe_text=_read(recipe_path, 1 << 20).decode("utf-8", errors="replace"),
        info=info,
        plugins=info.get("plugins", {}),
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``RUN_DIR/report.html``), atomically."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / REPORT_NAME
    atomic_write_text(out, render(run_dir))
    return out
