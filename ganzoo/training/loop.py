"""The generic training loop, shared by every architecture.

It owns everything that is not the GAN's math: devices, precision, seeding, data order, the
trainer's setup, learning-rate schedules, the first batch's check, EMA, logging, sample grids,
checkpoints and resuming. The math lives in the trainer's step function, which the loop calls once
per step.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import attrs
import torch

import ganzoo.plugin.manager as plugins
from ganzoo.base.errors import DataError, GanzooError, RecipeError, RunDirError, TrainingDiverged
from ganzoo.base.images import save_grid
from ganzoo.config.recipe import Recipe
from ganzoo.plugin.registry import load_ref
from ganzoo.hub.bundle import build_model, state_tensors
from ganzoo.training import distributed, lifecycle, precision, rundir
from ganzoo.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from ganzoo.training.context import StepContext, pick_device
from ganzoo.training.data_order import step_loader
from ganzoo.training.trackers import RunInfo, Trackers


@attrs.frozen
class RunResult:
    run_dir: Path
    step: int
    status: Literal["finished", "interrupted"]
    losses: dict[str, float]


class _StopRequest:
    """SIGINT/SIGTERM ask the loop to stop between two steps (a second Ctrl-C stops at once)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handler(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _clean_worker_errors():
    """A ganzoo error raised in a loader worker comes back with torch's traceback text in its
    message; keep the original one line."""
    from ganzoo.base.errors import GanzooError

    try:
        yield
    except GanzooError as exc:
        message = str(exc)
        if "Original Traceback" not in message:
            raise
        last = message.strip().splitlines()[-1]
        original = last.split(f"{type(exc).__name__}: ", 1)[-1]
        try:
            clean = type(exc)(original)
        except TypeError:  # an error class with a richer constructor
            clean = GanzooError(original)
        raise clean from None


def _check_data_fits_model(recipe: Recipe, dataset) -> None:
    """Catch a [data]/[model] disagreement here rather than as a shape error deep in torch."""
    for attr in ("channels", "resolution"):
        want, have = getattr(recipe.model, attr, None), getattr(dataset, attr, None)
        if want is not None and have is not None and want != have:
            raise RecipeError(
                f"{recipe.source}: [model] {attr} = {want} but dataset {recipe.data.dataset!r} "
                f"gives {attr} {have}; make them agree (e.g. [model] {attr} = {have})"
            )


class _Session:
    """One run of the loop over a run directory (new or resumed)."""

    def __init__(self, recipe: Recipe, run_dir: Path, *, layout: bool | None = None):
        """``layout``: the memory layout a resumed run started in (None: resolve the recipe's)."""
        self.recipe = recipe
        self.run_dir = run_dir
        self.cfg = recipe.train
        torch.manual_seed(recipe.seed)
        self.world = distributed.from_env()
        self.device = distributed.rank_device(pick_device(self.cfg.device), self.world)
        if self.cfg.batch_size % self.world.size:
            raise RecipeError(f"[train] batch_size = {self.cfg.batch_size} must be divisible by the "
                              f"{self.world.size} training processes (it is the global batch)")
        if self.cfg.sync_batchnorm and self.device.type != "cuda":
            raise RecipeError("[train] sync_batchnorm = true needs CUDA: PyTorch's SyncBatchNorm "
                              "runs on GPUs only")
        self.world = distributed.setup(self.device)
        #: The precision of the run, resolved here once; the context and run.json get it.
        self.precision = precision.resolve(self.cfg.amp, self.device)
        if self.cfg.amp == "auto" and self.world.enabled:
            # One precision for all ranks, rank 0's: averaging fp16-scaled gradients with
            # unscaled ones (a cluster of mixed GPU generations) would be garbage.
            agreed = distributed.from_rank0(self.precision.amp, self.world)
            self.precision = precision.Precision(amp=agreed, requested="auto")
        self.ctx = StepContext(self.cfg, self.device, self.precision)
        self.ctx.world = self.world

        dataset_entry = plugins.registry("datasets").get(recipe.data.dataset)
        self.dataset_entry = dataset_entry
        self.dataset = load_ref(dataset_entry.build)(recipe.data.config, "train")
        if len(self.dataset) < self.cfg.batch_size:
            raise DataError(f"dataset {recipe.data.dataset!r} has {len(self.dataset)} training "
                            f"items, fewer than [train] batch_size = {self.cfg.batch_size}")

        _check_data_fits_model(recipe, self.dataset)
        self.model = build_model(recipe.architecture, recipe.model).to(self.device)
        if self.ctx.use_channels_last(self.model, started_in=layout):
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.cfg.sync_batchnorm and self.world.enabled:
            for name in self.model.components:  # same parameter and buffer names as BatchNorm
                setattr(self.model, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(
                    getattr(self.model, name)))
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = self.cfg.cudnn_benchmark
        if self.cfg.compile:
            for name in self.model.components:
                getattr(self.model, name).compile()
        if self.world.rank:  # the same initial weights everywhere, then each rank its own noise
            torch.manual_seed(distributed_seed(recipe.seed, self.world.rank))
        trainer = plugins.registry("trainers").get(recipe.trainer)
        self.step_fn = load_ref(trainer.step)
        self.optimizers: dict[str, torch.optim.Optimizer] = lifecycle.prepare(
            trainer, self.model, self.cfg, self.ctx, self.dataset)
        self._check_first_batch()
        self.ema = self._make_ema()
        self.step = 0
        self.good_step = 0  # the step of the last checkpoint whose losses were finite
        #: The run's experiment trackers, their libraries checked before anything is written.
        self.trackers = Trackers.for_config(self.cfg)
        self.resumed = False
        self.logged_step = 0  # the highest step a resumed run had logged before

    def _check_first_batch(self) -> None:
        """A real item against the model's example batch, before anything is written. The
        random streams are left as they were: the run is the same with or without the check."""
        from torch.utils.data import default_collate

        with torch.random.fork_rng(devices=[]):
            first = default_collate([self.dataset[0]])
            lifecycle.check_first_batch(self.model, first, where=str(self.recipe.source))

    def _make_ema(self):
        if not self.cfg.ema:
            return None
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        gens = torch.nn.ModuleDict({n: getattr(self.model, n)
                                    for n in self.model.generator_components})
        return AveragedModel(gens, multi_avg_fn=get_ema_multi_avg_fn(self.cfg.ema),
                             use_buffers=True)

    # -- outputs ----------------------------------------------------------------------------
    def inference_state(self) -> dict[str, torch.Tensor]:
        """The model's tensors, with the EMA generator(s)' weights in place of the trained ones.

        Buffers (BatchNorm's running statistics) are the live model's: an average of them would
        start from their initial values (variance 1) and, in a short run, still be dominated by
        them, so the averaged generator would normalise with statistics no layer ever had.
        """
        state = state_tensors(self.model)
        if self.ema is not None:
            averaged = dict(self.ema.module.named_parameters())
            for key, value in state_tensors(self.ema.module).items():
                if key in averaged:
                    state[key] = value
        return state

    @functools.cached_property
    def held_out(self):
        """The test split when the dataset has one, else None (built on first use)."""
        try:
            return load_ref(self.dataset_entry.build)(self.recipe.data.config, "test")
        except DataError:
            return None

    def preview_batch(self) -> dict:
        """The same ``sample_count`` items every time: held-out ones when there is a test split."""
        from torch.utils.data import default_collate

        source = self.held_out or self.dataset
        count = min(self.cfg.sample_count, len(source))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.recipe.seed)
            items = [source[i] for i in range(count)]
        return self.ctx.to_device(default_collate(items))

    def write_samples(self, name: str) -> Path:
        model = self.inference_model()
        was_training = model.training
        model.eval()
        with torch.no_grad():
            images = model.preview(self.cfg.sample_count, seed=self.recipe.seed,
                                   batch=self.preview_batch())
        model.train(was_training)
        path = save_grid(images, self.run_dir / "samples" / f"{name}.png")
        self.trackers.log_images(self.step, "samples", path)
        return path

    def evaluate(self) -> dict[str, float]:
        """Score the inference model (EMA generator, eval mode) and log the scores."""
        if not self.cfg.eval_metrics:
            return {}
        from ganzoo.metrics import evaluate

        model = self.inference_model()
        # Scoring draws from the global generators (a metric's network initialised on first
        # use, test-time dropout): none of it may change what training draws next, or a run's
        # path would depend on eval_every and a resumed run on which process built what.
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            scores = evaluate(model, list(self.cfg.eval_metrics), n=self.cfg.eval_samples,
                              seed=self.recipe.seed, device=self.device, data=self.held_out)
        values = {name: score.value for name, score in scores.items()}
        record = {"step": self.step, "eval": values,
                  "protocol": {name: score.protocol.to_dict() for name, score in scores.items()}}
        rundir.append_record(self.run_dir, record)
        self.trackers.log_scores(self.step, values, record["protocol"])
        return values

    def inference_model(self):
        """The model as it will be saved: EMA generator(s) swapped in, when there are any."""
        if self.ema is None:
            return self.model
        model = copy.deepcopy(self.model)
        model.load_state_dict(self.inference_state())
        return model

    def checkpoint(self) -> None:
        rng = distributed.gather_rng(self.world)  # every rank takes part
        if self.world.is_main:
            save_checkpoint(self.run_dir, step=self.step, model=self.model,
                            optimizers=self.optimizers, ema=self.ema, scalers=self.ctx.scalers,
                            state=self.ctx.state, rank_rng=rng[1:],
                            extra={"channels_last": self.ctx.channels_last})
        self.good_step = self.step

    # -- the loop ---------------------------------------------------------------------------
    def resume(self) -> None:
        meta = load_checkpoint(self.run_dir, model=self.model, optimizers=self.optimizers,
                               ema=self.ema, ctx=self.ctx, rank=self.world.rank,
                               fallback_seed=distributed_seed(self.recipe.seed, self.world.rank))
        self.step = self.good_step = meta["step"]
        if self.world.is_main:
            rundir.truncate_metrics(self.run_dir, self.step)

    def run(self, progress: bool = True) -> RunResult:
        if self.world.is_main:
            self.trackers.start(RunInfo(
                run_dir=self.run_dir, recipe=self.recipe, hardware=rundir.run_info(self.run_dir),
                resumed=self.resumed, resume_step=self.step, logged_step=self.logged_step))
        try:
            return self._run(progress)
        finally:
            self.trackers.close()

    def _run(self, progress: bool) -> RunResult:
        from tqdm.auto import tqdm

        cfg = self.cfg
        loader = step_loader(self.dataset, batch_size=cfg.batch_size, seed=self.recipe.seed,
                             start=self.step, stop=cfg.steps, num_workers=cfg.num_workers,
                             pin_memory=self.device.type == "cuda", rank=self.world.rank,
                             ranks=self.world.size)
        main = self.world.is_main
        sums: dict[str, torch.Tensor] = {}
        window_steps, window_start = 0, time.perf_counter()
        last: dict[str, float] = {}
        status: Literal["finished", "interrupted"] = "finished"
        bar = tqdm(total=cfg.steps, initial=self.step, desc=self.recipe.name,
                   disable=None if progress and main else True, dynamic_ncols=True, unit="step")

        def flush() -> None:
            """Log the losses averaged since the last flush; stop on NaN/inf."""
            nonlocal sums, window_steps, window_start, last
            if not window_steps:
                return
            names = list(sums)
            values = distributed.mean(torch.stack([sums[n].float() for n in names]) / window_steps,
                                      self.world).tolist()  # over all ranks' slices
            last = dict(zip(names, values, strict=True))
            bad = [n for n, v in last.items() if not math.isfinite(v)]
            if bad:
                if (self.run_dir / CHECKPOINT_NAME).is_file():
                    kept = (f"The last good checkpoint (step {self.good_step}) is kept in "
                            f"{self.run_dir / CHECKPOINT_NAME}.")
                else:
                    kept = ("It stopped before its first checkpoint (step "
                            f"{cfg.checkpoint_every}), so there is none to go back to.")
                raise TrainingDiverged(
                    f"{bad[0]} became {last[bad[0]]} by step {self.step}; the run stopped. {kept} "
                    "Try a lower learning rate, or amp = \"none\"."
                )
            elapsed = time.perf_counter() - window_start
            sums, window_steps_done, window_steps, window_start = {}, window_steps, 0, \
                time.perf_counter()
            if not main:
                return
            record = {"step": self.step, **{n: round(v, 6) for n, v in last.items()},
                      "images_per_s": round(window_steps_done * cfg.batch_size / elapsed, 2)}
            rundir.append_record(self.run_dir, record)
            self.trackers.log_scalars(self.step, {
                **{f"loss/{n}": v for n, v in last.items()},
                "speed/images_per_s": record["images_per_s"]})
            bar.set_postfix({n: f"{v:.3f}" for n, v in last.items()}, refresh=False)

        self.model.train()
        with _StopRequest() as stop, bar, _clean_worker_errors():
            for batch in loader:
                self.ctx.begin_step(self.step)  # learning rates, frozen discriminators
                losses = self.step_fn(self.ctx.to_device(batch), self.model, self.opt_ns,
                                      self.ctx)
                if self.ema is not None:
                    self.ema.update_parameters(torch.nn.ModuleDict(
                        {n: getattr(self.model, n) for n in self.model.generator_components}))
                for name, value in losses.items():
                    sums[name] = sums[name] + value.detach() if name in sums else value.detach()
                self.step += 1
                window_steps += 1
                bar.update(1)
                if self.step % cfg.log_every == 0:
                    flush()
                if self.step % cfg.sample_every == 0 and main:
                    self.write_samples(f"step-{self.step:06d}")
                if (cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps
                        and main):
                    self.evaluate()
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                    flush()
                    self.checkpoint()
                # Under torchrun the ranks agree on stopping every log_every steps, where the
                # losses are synchronised anyway: no extra host sync per step.
                if (stop.requested if not self.world.enabled else
                        self.step % cfg.log_every == 0
                        and distributed.any_rank(stop.requested, self.world, self.device)):
                    status = "interrupted"
                    break
            flush()
        self.checkpoint()
        if status == "finished" and main:
            self.write_samples("final")
            scores = self.evaluate()
            rundir.write_weights(self.run_dir, self.model, state=self.inference_state(),
                                 recipe=self.recipe, metrics={**last, **scores})
        return RunResult(run_dir=self.run_dir, step=self.step, status=status, losses=last)

    @property
    def opt_ns(self) -> SimpleNamespace:
        return SimpleNamespace(**self.optimizers)


def distributed_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s random stream (rank 0 keeps the recipe's own)."""
    from ganzoo.training.data_order import _mix

    return seed if rank == 0 else _mix(seed, 0xD157, rank)


def _run_in(session: _Session, prepare, *, progress: bool, before_run=None) -> RunResult:
    """Rank 0 locks and prepares the run directory; the other ranks (torchrun) wait for it and
    stop with its error if it fails. Then every rank runs."""
    world = session.world
    if not world.is_main:
        error = distributed.from_rank0(None, world)
        if error is not None:
            raise RunDirError(f"rank {world.rank}: rank 0 could not start the run: {error}")
        if before_run:
            before_run()
        return session.run(progress=progress)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(rundir.locked(session.run_dir))
            prepare()
        except GanzooError as exc:
            distributed.from_rank0(str(exc), world)
            raise
        distributed.from_rank0(None, world)
        if before_run:
            before_run()
        return session.run(progress=progress)


def train(recipe: Recipe, run_dir: str | Path | None = None, *, progress: bool = True) -> RunResult:
    """Start a new run of ``recipe`` in ``run_dir`` (a new, empty folder)."""
    session = _Session(recipe, None)  # validates data and model before anything is written
    if run_dir is None:  # one name for all ranks: rank 0's clock
        run_dir = distributed.from_rank0(str(rundir.default_run_dir(recipe)), session.world)
    session.run_dir = run_dir = Path(run_dir)

    def prepare() -> None:
        _make_dir(run_dir)
        rundir.prepare_new(run_dir, recipe, hardware={
            "device": str(session.device), "precision": session.precision.amp,
            "channels_last": session.ctx.channels_last, "processes": session.world.size})

    return _run_in(session, prepare, progress=progress)


def _make_dir(run_dir: Path) -> None:
    from ganzoo.base.errors import RunDirError

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the output folder: {exc.strerror}") from None


def died_before_first_checkpoint(run_dir: str | Path) -> bool:
    """The run in ``run_dir`` stopped before writing any checkpoint: none on disk, no final
    weights, nothing logged past its first checkpoint step (a checkpoint that was written and
    then lost is an error, not a restart). ``resume`` starts such a run again from step 0."""
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT_NAME).exists() or (run_dir / rundir.WEIGHTS_DIR).exists():
        return False
    first = rundir.recipe_of(run_dir).train.checkpoint_every
    return rundir.last_logged_step(run_dir) <= first


def resume(run_dir: str | Path, *, overrides: tuple[str, ...] = (), progress: bool = True
           ) -> RunResult:
    """Continue the run in ``run_dir`` from its checkpoint, exactly where it stopped.

    A run that stopped before its first checkpoint starts again from step 0 with the recipe in
    its folder (``died_before_first_checkpoint`` tells which; the CLI says so).
    """
    run_dir = Path(run_dir)
    recipe = rundir.recipe_of(run_dir)
    if overrides:
        recipe = Recipe.from_toml(run_dir / rundir.RECIPE_NAME, overrides)
    from ganzoo.training.checkpoint import checkpoint_step

    restart = died_before_first_checkpoint(run_dir)
    if not restart:
        checkpoint_step(run_dir)  # a clear error for a missing or corrupt checkpoint, first
    session = _Session(_same_precision(recipe, run_dir), run_dir,
                       layout=_started_layout(run_dir, recipe))

    def prepare() -> None:
        session.resumed, session.logged_step = True, rundir.last_logged_step(run_dir)
        if restart:  # nothing of the dead run's log survives: it is logged again from step 0
            rundir.truncate_metrics(run_dir, -1)
        else:
            checkpoint_step(run_dir)  # again, now that the run is locked
        if overrides:
            from ganzoo.base.io import atomic_write_text

            atomic_write_text(run_dir / rundir.RECIPE_NAME, recipe.to_toml())

    return _run_in(session, prepare, progress=progress,
                   before_run=None if restart else session.resume)


def _same_precision(recipe: Recipe, run_dir: Path) -> Recipe:
    """``amp = "auto"`` resolves per machine: a run resumed elsewhere continues in the precision
    it started in (recorded in run.json), so that it stays the run it was."""
    started_in = rundir.recorded_precision(run_dir)
    if recipe.train.amp != "auto" or started_in is None:
        return recipe
    return attrs.evolve(recipe, train=attrs.evolve(recipe.train, amp=started_in))


def _started_layout(run_dir: Path, recipe: Recipe) -> bool | None:
    """``channels_last = "auto"`` resolves per architecture, and that choice has changed between
    versions, so a resumed run keeps the memory layout it started in: from run.json, else from
    its checkpoint (a run continued from a bundle), else the old default layout. None where the
    recipe forces the layout itself."""
    if recipe.train.channels_last != "auto":
        return None
    recorded = rundir.run_info(run_dir).get("channels_last")
    if not isinstance(recorded, bool):
        from ganzoo.training.checkpoint import checkpoint_extra

        recorded = checkpoint_extra(run_dir).get("channels_last")
    return recorded if isinstance(recorded, bool) else False


def resume_from_bundle(source: str, run_dir: str | Path | None = None, *,
                       overrides: tuple[str, ...] = (), progress: bool = True) -> RunResult:
    """Continue training from a bundle's training part (a folder, a registered name or a Hub
    repo) in a new run directory: the way to resume or fine-tune a published model."""
    import shutil

    from ganzoo.hub.bundle import read_index
    from ganzoo.base.errors import CheckpointError
    from ganzoo.hub.loading import resolve

    folder = resolve(source, components="all")
    index = read_index(folder)
    needed = ("checkpoint.safetensors", rundir.RECIPE_NAME)
    missing = [name for name in needed if name not in index.training_files]
    if missing:
        raise CheckpointError(f"{source}: the bundle has no training/{missing[0]} to resume from "
                              "(it was saved for inference only); train from a recipe instead")
    recipe = Recipe.from_toml(folder / index.training_files[rundir.RECIPE_NAME], overrides,
                              allow_base=False)  # a downloaded recipe names no local files
    run_dir = Path(run_dir) if run_dir is not None else rundir.default_run_dir(recipe)
    _make_dir(run_dir)
    with rundir.locked(run_dir):
        rundir.prepare_new(run_dir, recipe)
        shutil.copyfile(folder / index.training_files["checkpoint.safetensors"],
                        run_dir / CHECKPOINT_NAME)
    return resume(run_dir, progress=progress)