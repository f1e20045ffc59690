"""The Weights & Biases logger in offline mode: the run files a later ``wandb sync`` uploads
(``RUN/wandb/offline-run-*/run-ID.wandb``) hold the logged metrics, images, recipe and
hardware record, and a resumed run continues the same run id without repeating a step."""

from __future__ import annotations

import json
import struct

import pytest

from ganzoo import Recipe
from ganzoo.training import rundir
from ganzoo.training.loop import resume, train

pytest.importorskip("wandb")

BLOCK = 32768  # the .wandb file is a LevelDB-style log of 32 KiB blocks


def wandb_records(path):
    """The protobuf records of a ``.wandb`` file, as ``wandb sync`` reads them.

    wandb 0.31 reads these files in its Go core only, so the framing is read here: a 7-byte
    header (``:W&B``, magic 0xBEE1, version 0), then chunks of (crc32 4, length 2, type 1)
    headers and data, never straddling a block; type 1 is a whole record, 2/3/4 its first,
    middle and last pieces. The records are wandb's own ``wandb_internal_pb2.Record``."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B" and struct.unpack("<HB", data[4:7]) == (0xBEE1, 0), data[:7]
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # the rest of a block too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record
        else:
            assert kind in (2, 3), f"{path}: chunk type {kind} at byte {pos}"


def history(records) -> dict[int, dict]:
    """The logged rows by step; a media value (an image: nested keys) as one dict."""
    rows: dict[int, dict] = {}
    for record in records:
        if record.WhichOneof("record_type") != "history":
            continue
        row = rows.setdefault(record.history.step.num, {})
        for item in record.history.item:
            if item.nested_key:
                *parents, leaf = item.nested_key
                target = row
                for key in parents:
                    target = target.setdefault(key, {})
                target[leaf] = json.loads(item.value_json)
            else:
                row[item.key] = json.loads(item.value_json)
    return rows


def run_record(records):
    runs = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert runs, f"no run record among {[r.WhichOneof('record_type') for r in records]}"
    return runs[0]


def config(records) -> dict:
    """The run's config: the run record's, then every later update."""
    out = {}
    for record in records:
        kind = record.WhichOneof("record_type")
        updates = (record.run.config.update if kind == "run" else
                   record.config.update if kind == "config" else ())
        for item in updates:
            out[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out


def test_wandb_offline_files_hold_the_run_and_a_resume_continues_its_id(tiny_recipe, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    short = ["train.loggers=['wandb']", "train.steps=4", "train.sample_every=4",
             "train.eval_metrics=['fd-digits']", "train.eval_samples=16"]
    run_dir = tmp_path / "run"
    train(Recipe.from_toml(tiny_recipe, short), run_dir, progress=False)
    run_id = json.loads((run_dir / "wandb.json").read_text())["id"]
    (first,) = (run_dir / "wandb").glob("offline-run-*")
    records = list(wandb_records(first / f"run-{run_id}.wandb"))
    run = run_record(records)
    assert (run.run_id, run.project, run.display_name) == (run_id, "tiny", "run")
    rows = history(records)
    logged = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = {r["step"]: r for r in logged if "eval" not in r}
    assert sorted(rows) == [2, 4]
    for step, row in rows.items():
        assert row["loss/loss_d"] == pytest.approx(losses[step]["loss_d"], abs=1e-6)
        assert row["speed/images_per_s"] == losses[step]["images_per_s"]
    evaluated = next(r for r in logged if "eval" in r)
    assert rows[4]["eval/fd-digits"] == pytest.approx(evaluated["eval"]["fd-digits"])
    image = rows[4]["samples"]
    assert image["_type"] == "image-file" and (image["width"], image["height"]) == (38, 38)
    assert (first / "files" / image["path"]).read_bytes() == (
        run_dir / "samples" / "final.png").read_bytes()  # step 4's last grid: the final one
    settings = config(records)
    assert settings["recipe"]["train"]["steps"] == 4
    assert settings["hardware"] == json.loads((run_dir / "run.json").read_text())
    assert settings["eval_protocol"]["fd-digits"] == evaluated["protocol"]["fd-digits"]

    # As if the run had logged step 6, then been killed: resumed, it is the same W&B run, in a
    # second offline fragment that starts after step 6.
    rundir.append_record(run_dir, {"step": 6, "loss_d": 99.0, "loss_g": 99.0})
    longer = Recipe.from_toml(tiny_recipe, short[:1] + ["train.steps=8"])
    (run_dir / "recipe.toml").write_text(longer.to_toml())
    resume(run_dir, progress=False)
    (second,) = set((run_dir / "wandb").glob("offline-run-*")) - {first}
    records = list(wandb_records(second / f"run-{run_id}.wandb"))
    assert run_record(records).run_id == run_id
    rows = history(records)
    assert sorted(rows) == [8]
    assert rows[8]["loss/loss_g"] == pytest.approx(
        json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["loss_g"], abs=1e-6)
    assert config(records)["recipe"]["train"]["steps"] == 8
