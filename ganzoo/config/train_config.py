"""The ``[train]`` table: settings every trainer shares. Trainers subclass it for their own keys."""

from __future__ import annotations

import math
from typing import Literal

import attrs
from attrs import validators as v

#: A switch with an automatic setting (``channels_last``): true, false or "auto" (TOML and
#: ``--set`` values are checked by :mod:`ganzoo.config.structure`, which knows this type).
FlagOrAuto = bool | Literal["auto"]


def registry_name(kind: str, *, loss_kind: str | None = None, list_known: bool = False,
                  **kwargs):
    """An attrs field holding a registry name, checked against the registry when a recipe loads.
    ``list_known``: an unknown name's error lists every registered one (for small registries)."""
    metadata = {"registry": kind}
    if loss_kind:
        metadata["loss_kind"] = loss_kind
    if list_known:
        metadata["list_known"] = True
    return attrs.field(metadata=metadata, **kwargs)


def finite(_inst, attribute, value) -> None:
    """attrs validator: a real number, not inf or nan."""
    if not math.isfinite(value):
        raise ValueError(f"'{attribute.name}' must be a finite number, got {value}")


def _betas(_inst, attribute, value) -> None:
    if not all(math.isfinite(b) and 0.0 <= b < 1.0 for b in value):
        raise ValueError(f"'{attribute.name}' must be two numbers in [0, 1), got {list(value)}")


#: The precisions a run computes in; ``[train] amp`` also takes ``"auto"``, which
#: :mod:`ganzoo.training.precision` resolves (once per run) to one of them.
PRECISIONS = ("none", "bf16", "fp16")
AMP_CHOICES = (*PRECISIONS, "auto")
#: The values of ``[train] lr_schedule`` (see :func:`ganzoo.training.schedules.lr_factor`).
LR_SCHEDULES = ("constant", "linear", "step")
#: The keys each schedule reads; setting another schedule's key is an error, not ignored.
SCHEDULE_KEYS = {"constant": (), "linear": ("decay_start",), "step": ("lr_decay", "lr_decay_every")}


def one_of(choices: tuple):
    """attrs validator: ``value`` is one of ``choices`` (the message names both)."""

    def check(_inst, attribute, value) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} = {value!r} is not one of "
                             f"{', '.join(repr(c) for c in choices)}")

    return check


def flag(_inst, attribute, value) -> None:
    """attrs validator: true or false (``TrainConfig(compile="no")`` is an error, not truthy)."""
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be true or false, got {value!r}")


def _flag_or_auto(_inst, attribute, value) -> None:
    if not (isinstance(value, bool) or value == "auto"):
        raise ValueError(f"{attribute.name} must be true, false or \"auto\", got {value!r}")


def _device(_inst, _attr, value: str) -> None:
    if value not in ("auto", "cpu", "mps") and not (value == "cuda" or value.startswith("cuda:")):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {value!r}")


@attrs.frozen(kw_only=True)
class TrainConfig:
    """Settings of the generic training loop.

    ``steps`` counts updates of every network (one call of the trainer's step function).
    """

    steps: int = attrs.field(default=1000, validator=v.ge(1))
    batch_size: int = attrs.field(default=64, validator=[v.ge(1), v.le(65536)])
    lr_gen: float = attrs.field(default=2e-4, validator=[finite, v.gt(0.0)])
    lr_disc: float = attrs.field(default=2e-4, validator=[finite, v.gt(0.0)])
    betas: tuple[float, float] = attrs.field(default=(0.5, 0.999), validator=_betas)
    device: str = attrs.field(default="auto", validator=_device)
    #: Mixed precision. ``"auto"`` (the default): bf16 where the device computes it natively (CUDA
    #: GPUs with bf16, CPUs with AVX512-BF16 or AMX), fp16 with loss scaling on older GPUs, else
    #: fp32. ``"none"`` is fp32 everywhere: the same arithmetic on every machine.
    amp: Literal["none", "bf16", "fp16", "auto"] = attrs.field(default="auto",
                                                              validator=one_of(AMP_CHOICES))
    #: Activations and weights in channels_last memory layout. ``"auto"`` (the default): where
    #: it was measured to pay in training for the architecture (the model class's
    #: ``train_channels_last``; benchmarks/RESULTS.md), else the default layout; ``true`` or
    #: ``false`` forces it.
    channels_last: FlagOrAuto = attrs.field(default="auto", validator=_flag_or_auto)
    ema: float = attrs.field(default=0.0, validator=[v.ge(0.0), v.lt(1.0)])
    num_workers: int = attrs.field(default=0, validator=[v.ge(0), v.le(256)])
    log_every: int = attrs.field(default=10, validator=v.ge(1))
    sample_every: int = attrs.field(default=500, validator=v.ge(1))
    sample_count: int = attrs.field(default=64, validator=[v.ge(1), v.le(1024)])
    checkpoint_every: int = attrs.field(default=500, validator=v.ge(1))
    eval_every: int = attrs.field(default=0, validator=v.ge(0))  # 0: only at the end
    eval_metrics: tuple[str, ...] = registry_name("metrics", default=())
    eval_samples: int = attrs.field(default=1000, validator=[v.ge(2), v.le(100_000)])
    #: Experiment trackers that also get the losses, scores, sample grids, the resolved recipe
    #: and the hardware record: names from ``ganzoo list loggers`` (``"tensorboard"``,
    #: ``"mlflow"``, ``"wandb"``, or a plugin's). ``metrics.jsonl`` is written either way.
    loggers: tuple[str, ...] = registry_name("loggers", list_known=True, default=())
    #: The same as ``"tensorboard"`` in ``loggers`` (``RUN/tensorboard/``), kept for older
    #: recipes.
    tensorboard: bool = attrs.field(default=False, validator=flag)
    #: ``torch.compile`` every network (in place: checkpoints and weights keep their names). The
    #: first steps are slow while it compiles; it pays off on long GPU runs.
    compile: bool = attrs.field(default=False, validator=flag)
    #: On CUDA, let cuDNN pick the fastest convolution algorithms for the fixed training shapes.
    cudnn_benchmark: bool = attrs.field(default=True, validator=flag)
    #: Under torchrun on GPUs: BatchNorm statistics over the global batch (SyncBatchNorm).
    sync_batchnorm: bool = attrs.field(default=False, validator=flag)
    #: Under torchrun: gradients are averaged in buckets of about this many megabytes, each
    #: bucket's exchange started during the backward as soon as its gradients are final (as
    #: DDP does; 25 is DDP's default). 0: one flattened exchange after the backward.
    grad_bucket_mb: float = attrs.field(default=25.0, validator=[finite, v.ge(0.0),
                                                                 v.le(65536.0)])
    #: The learning rate of every optimizer over the run, set by the loop before each step:
    #: ``"constant"``; ``"linear"``: constant for the first ``decay_start`` fraction of
    #: ``steps``, then linearly down to 0 at the last step (pix2pix, CycleGAN); ``"step"``:
    #: multiplied by ``lr_decay`` every ``lr_decay_every`` steps (StackGAN; 0: never).
    lr_schedule: Literal["constant", "linear", "step"] = attrs.field(
        default="constant", validator=one_of(LR_SCHEDULES))
    decay_start: float = attrs.field(default=0.5, validator=[finite, v.ge(0.0), v.le(1.0)])
    lr_decay: float = attrs.field(default=0.5, validator=[finite, v.gt(0.0), v.le(1.0)])
    lr_decay_every: int = attrs.field(default=0, validator=v.ge(0))
    #: From this step on the discriminator no longer learns: its parameters are frozen and
    #: ``ctx.update`` on a discriminator optimizer does nothing (None: it always learns).
    freeze_disc_after: int | None = attrs.field(default=None, validator=v.optional(v.ge(0)))

    def __attrs_post_init__(self) -> None:
        self.check_schedule()

    def check_schedule(self) -> None:
        """Refuse a schedule key the chosen ``lr_schedule`` would not read (a subclass that
        defines ``__attrs_post_init__`` calls this too)."""
        fields = attrs.fields_dict(type(self))
        used = SCHEDULE_KEYS[self.lr_schedule]
        for schedule, keys in SCHEDULE_KEYS.items():
            for key in keys:
                if key not in used and getattr(self, key) != fields[key].default:
                    raise ValueError(f"{key} = {getattr(self, key)!r} is read by lr_schedule = "
                                     f"{schedule!r} only, but lr_schedule = "
                                     f"{self.lr_schedule!r}; set lr_schedule = {schedule!r} "
                                     f"or remove {key}")


@attrs.frozen(kw_only=True)
class AdversarialTrainConfig(TrainConfig):
    """A trainer with one adversarial loss from the losses registry, and optional gradient penalty."""

    loss: str = registry_name("losses", loss_kind="adversarial", default="non-saturating")
    gp_weight: float = attrs.field(default=0.0, validator=[finite, v.ge(0.0)])
