"""Training checkpoints: one safetensors file holding everything needed to continue exactly.

Tensors: the model's state (``model.*``), the EMA copy (``ema.*``), every optimizer's per-parameter
state (``opt.<name>.<index>.<key>``) and the RNG states (``rng.*``). Everything else (step, param
groups, loss scalers) is JSON in the file's metadata. The file is written to a temporary name and
renamed, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganzoo.base.errors import CheckpointError
from ganzoo.base.io import atomic_write_with
from ganzoo.hub.bundle import load_into, read_tensors, state_tensors

CHECKPOINT_NAME = "checkpoint.safetensors"


def _flatten_optimizer(name: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    sd = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{name}.{index}.{key}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[key] = value
    meta["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(name: str, tensors: dict, meta: dict) -> dict:
    info = meta["optimizers"][name]
    state: dict[int, dict[str, Any]] = {}
    prefix = f"opt.{name}."
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, _, field = key[len(prefix):].partition(".")
            state.setdefault(int(index), {})[field] = value
    for index, fields in info["scalars"].items():
        state.setdefault(int(index), {}).update(fields)
    return {"state": state, "param_groups": info["param_groups"]}


def save_checkpoint(run_dir: Path, *, step: int, model, optimizers: dict, ema, scalers: dict,
                    extra: dict | None = None, state: dict[str, torch.Tensor] | None = None,
                    rank_rng: list[torch.Tensor] = ()) -> Path:
    """Write the checkpoint atomically. ``rank_rng``: the CPU RNG states of ranks 1, 2, ... of a
    torchrun run (rank 0's is this process's own)."""
    tensors = {f"model.{k}": v for k, v in state_tensors(model).items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v for k, v in state_tensors(ema).items()})
    tensors.update({f"state.{k}": v.detach().contiguous() for k, v in (state or {}).items()})
    meta: dict[str, Any] = {"step": step, "optimizers": {}, "extra": extra or {},
                            "scalers": {k: s.state_dict() for k, s in scalers.items()}}
    for name, opt in optimizers.items():
        _flatten_optimizer(name, opt, tensors, meta)
    tensors["rng.cpu"] = torch.get_rng_state()
    for rank, rng in enumerate(rank_rng, start=1):
        tensors[f"rng.cpu.rank{rank}"] = rng
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    path = run_dir / CHECKPOINT_NAME
    atomic_write_with(path, lambda tmp: save_file(
        tensors, str(tmp), metadata={"ganzoo": json.dumps(meta)}))
    return path


MAX_STEP = 2**53  # far beyond any run; larger is a damaged or forged file


def checkpoint_extra(run_dir: Path) -> dict:
    """The ``extra`` record of a run's checkpoint ({} when there is no readable one)."""
    try:
        return _metadata(run_dir / CHECKPOINT_NAME).get("extra", {})
    except CheckpointError:
        return {}


def _metadata(path: Path) -> dict:
    """The checked ``ganzoo`` metadata of a checkpoint (reads only the header)."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads(fh.metadata()["ganzoo"])
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint in this run directory") from None
    except Exception as exc:  # noqa: BLE001 - any failure here means a damaged file
        raise CheckpointError(f"{path}: corrupt checkpoint ({type(exc).__name__}: {exc})") from None

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: corrupt checkpoint metadata: {what}")

    if not isinstance(meta, dict):
        raise bad("not an object")
    step = meta.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise bad(f"step {step!r} is not an integer between 0 and {MAX_STEP}")
    optimizers = meta.get("optimizers")
    if not isinstance(optimizers, dict):
        raise bad("no 'optimizers' object")
    for name, info in optimizers.items():
        groups = info.get("param_groups") if isinstance(info, dict) else None
        if (not isinstance(groups, list) or not groups
                or not all(isinstance(g, dict) and isinstance(g.get("params"), list)
                           for g in groups)):
            raise bad(f"optimizer {name!r} has no valid 'param_groups'")
        scalars = info.get("scalars", {})
        if not isinstance(scalars, dict) or not all(
                isinstance(v, dict) and k.isdigit() for k, v in scalars.items()):
            raise bad(f"optimizer {name!r} has invalid 'scalars'")
    scalers = meta.get("scalers", {})
    if not isinstance(scalers, dict) or not all(isinstance(v, dict) for v in scalers.values()):
        raise bad("invalid 'scalers'")
    if not isinstance(meta.get("extra", {}), dict):
        raise bad("invalid 'extra'")
    return meta


def checkpoint_step(run_dir: Path) -> int:
    """The step a run's checkpoint was taken at (reads only the header)."""
    return _metadata(run_dir / CHECKPOINT_NAME)["step"]


def _match_parameter_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory layout.

    Checkpoints store tensors contiguous; a channels_last model's moments were channels_last
    before the save, and the fused Adam kernel walks a parameter and its moments in memory
    order, so moments of another layout would be paired with the wrong weights."""
    for group in opt.param_groups:
        for param in group["params"]:
            for key, value in opt.state.get(param, {}).items():
                if (isinstance(value, torch.Tensor) and value.shape == param.shape
                        and value.stride() != param.stride()):
                    opt.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def load_checkpoint(run_dir: Path, *, model, optimizers: dict, ema, ctx, rank: int = 0,
                    fallback_seed: int | None = None) -> dict:
    """Restore model, EMA, optimizers, loss scalers, the trainer's ``ctx.state`` and RNG; return the metadata (``step``...)."""
    path = run_dir / CHECKPOINT_NAME
    meta = _metadata(path)  # validates the header first
    tensors = read_tensors(path)
    rng = tensors.get("rng.cpu")
    if rng is None or rng.dtype != torch.uint8 or rng.dim() != 1:
        raise CheckpointError(f"{path}: corrupt checkpoint: no CPU random state 'rng.cpu' of "
                              "bytes")
    for key in [k for k in tensors if k.startswith("rng.")]:
        if tensors[key].dtype != torch.uint8 or tensors[key].dim() != 1:
            raise CheckpointError(f"{path}: corrupt checkpoint: random state {key!r} is "
                                  f"{tensors[key].dtype} {list(tensors[key].shape)}, not bytes")

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    load_into(model, part("model."), path)
    if ema is not None:
        ema_state = part("ema.")
        if not ema_state:
            raise CheckpointError(f"{path}: the recipe asks for EMA but the checkpoint has none")
        load_into(ema, ema_state, path)
    for name, opt in optimizers.items():
        if name not in meta["optimizers"]:
            raise CheckpointError(f"{path}: no state for optimizer {name!r}")
        try:
            opt.load_state_dict(_unflatten_optimizer(name, tensors, meta))
        except (ValueError, KeyError, TypeError, RuntimeError, IndexError) as exc:
            raise CheckpointError(f"{path}: the state of optimizer {name!r} does not fit this "
                                  f"model ({type(exc).__name__}: {str(exc)[:200]})") from None
        _match_parameter_layouts(opt)
    for key, state in meta.get("scalers", {}).items():
        try:
            ctx.scalers.setdefault(key, torch.amp.GradScaler(ctx.device.type)).load_state_dict(
                state)
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: corrupt loss scaler {key!r} ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
    ctx.state.clear()
    ctx.state.update({k: v.to(ctx.device) for k, v in part("state.").items()})
    own = "rng.cpu" if rank == 0 else f"rng.cpu.rank{rank}"
    if own in tensors:
        try:
            torch.set_rng_state(tensors[own])
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: corrupt checkpoint: random state {own!r} "
                                  f"({str(exc)[:200]})") from None
    else:  # a checkpoint from a run with fewer processes: this rank starts a fresh stream
        torch.manual_seed(fallback_seed if fallback_seed is not None else rank)
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    return meta
