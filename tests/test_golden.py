"""ganzoo's trainers take the same steps as the authors' code (issue #23).

The fixtures in ``tests/fixtures/golden/`` were recorded by ``benchmarks/golden/record.py`` from
the reference implementations (junyanz/pytorch-CycleGAN-and-pix2pix's ``optimize_parameters``,
the training loop body of pytorch/examples' ``dcgan/main.py``): every loss of every step and a
summary of every weight, buffer and Adam moment after it. Here the same initial weights go into
ganzoo through the converters, the same batches through the registered trainer, and every number
must agree within fp32 rounding, step by step. No reference code is needed to run these tests.

ganzoo's fast path (fused Adam, D's weights frozen during G's update, gradients released after
each update) is checked against the same numbers: it changes speed and memory, not the steps.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import ganzoo
import golden_common as golden
import ganzoo.plugin.manager as plugins
from ganzoo.plugin.registry import load_ref
from ganzoo.config.structure import structure
from ganzoo.training.context import StepContext

#: "Within fp32 tolerance", measured rather than guessed: the recorder trains the reference twice,
#: the second time from weights perturbed by ~1 fp32 ulp (``spread``). Adam's first steps are
#: nearly sign(gradient) steps and batch norm over a few values leaves near-zero, cancelling
#: gradients, so after 3 steps some weights of the reference itself move by up to 2 * lr between
#: the two runs. ganzoo may differ from the reference by FACTOR times that spread, plus RTOL of
#: each tensor's mean |value| (of each loss). The perturbed run keeps most of the reference's
#: rounding pattern, so it underestimates the spread between two differently ordered but equal
#: computations: the worst ratio measured is 5.3 (CycleGAN, Adam's second moment of a
#: discriminator bias at step 3), hence 8.
FACTOR = 8.0
RTOL = 1e-5


# -- ganzoo models holding the reference's initial weights ------------------------------------
def _pix2pix(case: dict, shapes: dict):
    from ganzoo_pix2pix.convert import reference_depth, rename

    state_g = golden.initial_state(shapes["G"])
    depth = reference_depth(state_g)
    assert depth == {"unet_128": 7, "unet_256": 8}[case["netG"]]
    model = ganzoo.create("pix2pix", input_nc=case["input_nc"], output_nc=case["output_nc"],
                          resolution=case["size"], depth=depth, gen_width=case["ngf"],
                          disc_width=case["ndf"], disc_layers=case["n_layers_D"],
                          norm=case["norm"], dropout=case["dropout"], discriminator="patch")
    _load(model.gen, rename(state_g, depth))
    _load(model.disc, golden.initial_state(shapes["D"]))
    # ganzoo key -> reference key, by renaming the reference's key names themselves
    names = {"gen": ("G", rename({k: k for k, _ in shapes["G"]}, depth)),
             "disc": ("D", {k: k for k, _ in shapes["D"]})}
    return model, names


def _cyclegan(case: dict, shapes: dict):
    from ganzoo_cyclegan.convert import from_reference

    model = ganzoo.create("cyclegan", input_nc=case["input_nc"], output_nc=case["output_nc"],
                          resolution=case["size"], blocks=int(case["netG"].split("_")[1][0]),
                          gen_width=case["ngf"], disc_width=case["ndf"],
                          disc_layers=case["n_layers_D"], norm=case["norm"], dropout=False)
    # The reference's G_A maps A -> B (ganzoo's gen_ab); its D_A judges domain B (disc_b).
    roles = {"gen_ab": "G_A", "gen_ba": "G_B", "disc_b": "D_A", "disc_a": "D_B"}
    for component in ("gen_ab", "gen_ba"):
        converted = from_reference(golden.initial_state(shapes[roles[component]]))
        _load(getattr(model, component), converted.gen_ab.state_dict())
    for component in ("disc_a", "disc_b"):
        _load(getattr(model, component), golden.initial_state(shapes[roles[component]]))
    names = {c: (r, {k: k for k, _ in shapes[r]}) for c, r in roles.items()}
    return model, names


def _dcgan(case: dict, shapes: dict):
    # main.py's nets are one nn.Sequential called ``main``; ganzoo's are the Sequential itself.
    model = ganzoo.create("dcgan", resolution=case["size"], channels=case["nc"],
                          z_dim=case["nz"], gen_width=case["ngf"], disc_width=case["ndf"])
    for component, role in (("gen", "G"), ("disc", "D")):
        state = golden.initial_state(shapes[role])
        _load(getattr(model, component), {k.removeprefix("main."): v for k, v in state.items()})
    names = {c: (r, {k.removeprefix("main."): k for k, _ in shapes[r]})
             for c, r in (("gen", "G"), ("disc", "D"))}
    return model, names


def _load(module: torch.nn.Module, state: dict) -> None:
    result = module.load_state_dict(state, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    assert all(k.endswith("num_batches_tracked") for k in result.missing_keys), result.missing_keys


BUILD = {"pix2pix": _pix2pix, "cycle_gan": _cyclegan, "dcgan": _dcgan}


# -- the reference's settings as ganzoo [train] tables, and its losses in ganzoo's terms -------
def _train_table(case: dict) -> tuple[str, dict]:
    # steps far beyond the few recorded: the learning rates stay constant, as in the
    # reference's first n_epochs
    common = {"device": "cpu", "amp": "none", "steps": 10_000, "lr_gen": case["lr"],
              "lr_disc": case["lr"], "betas": [case["beta1"], 0.999]}
    if case["model"] == "pix2pix":
        return "pix2pix", {**common, "loss": "non-saturating", "l1_weight": case["lambda_L1"],
                           "disc_loss_scale": 0.5, "grad_weight": 0.0}
    if case["model"] == "cycle_gan":
        # ganzoo's lsgan G term is 0.5 * MSE, the reference's the MSE: gan_weight = 2
        return "cyclegan", {**common, "loss": "lsgan", "gan_weight": 2.0,
                            "cycle_weight_a": case["lambda_A"], "cycle_weight_b": case["lambda_B"],
                            "identity_weight": case["lambda_identity"],
                            "pool_size": case["pool_size"]}
    return "gan", {**common, "loss": "non-saturating"}


def _expected_losses(case: dict, ref: dict) -> dict[str, float]:
    if case["model"] == "pix2pix":
        return {"loss_d": ref["D"], "loss_g_gan": ref["G_GAN"],
                "loss_g_l1": ref["G_L1"] / case["lambda_L1"]}
    if case["model"] == "cycle_gan":
        return {"loss_d_a": ref["D_B"], "loss_d_b": ref["D_A"],
                # ganzoo logs its own lsgan G term, 0.5 * the reference's MSE
                "loss_g_gan": 0.5 * (ref["G_A"] + ref["G_B"]),
                "loss_g_cycle": ref["cycle_A"] + ref["cycle_B"],
                "loss_g_identity": ref["idt_A"] + ref["idt_B"]}
    return {"loss_d": ref["D"], "loss_g": ref["G"]}


def _batch(case: dict, batch: dict) -> dict:
    if case["model"] == "pix2pix":
        return {"source": batch["A"], "target": batch["B"]}
    if case["model"] == "cycle_gan":
        return {"a": batch["A"], "b": batch["B"]}
    return {"image": batch["image"]}


def replay(name: str, *, fast: bool):
    """Run ganzoo's registered trainer on the case's batches from its initial weights; yields
    ``(step, losses, model, optimizers, names)`` after each step."""
    fixture = golden.load(name)
    case = fixture["case"]
    model, names = BUILD[case["model"]](case, fixture["shapes"])
    trainer, table = _train_table(case)
    entry = plugins.registry("trainers").get(trainer)
    cfg = structure(table, entry.config_cls, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    ctx.freeze = ctx.fused_adam = ctx.release_grads = fast
    opt = SimpleNamespace(**load_ref(entry.optimizers)(model, cfg, ctx))
    step = load_ref(entry.step)
    model.train()
    torch.manual_seed(golden.STEP_SEED)  # the reference's dropout masks and DCGAN's z
    for i, batch in enumerate(golden.batches(case)):
        ctx.step = i
        losses = {k: float(v) for k, v in step(_batch(case, batch), model, opt, ctx).items()}
        yield fixture["steps"][i], losses, model, opt, names


def cancelled_biases(module: torch.nn.Module) -> set[str]:
    """Biases of convolutions followed directly by an InstanceNorm without affine parameters
    (CycleGAN's): the norm subtracts them again, so their gradient is zero but for rounding, and
    Adam turns that rounding noise into steps of up to lr in either direction, in the reference
    as in ganzoo. Their values mean nothing; the test only bounds how far they wander."""
    out = set()
    for prefix, parent in module.named_modules():
        children = list(parent.named_children())
        for (name, first), (_, second) in zip(children, children[1:]):
            if (isinstance(first, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
                    and first.bias is not None and isinstance(second, torch.nn.InstanceNorm2d)
                    and not second.affine):
                out.add(f"{prefix}.{name}.bias".lstrip("."))
    return out


def _check_step(name: str, i: int, ref: dict, losses: dict, model, opt, names) -> list[str]:
    case = golden.CASES[name]
    wander = 2 * case["lr"] * (i + 1)  # the most a cancelled bias can drift from the reference's
    problems = []
    spread = ref["spread"]
    spread_losses = _expected_losses(case, spread["losses"])
    for key, expected in _expected_losses(case, ref["losses"]).items():
        allowed = FACTOR * abs(spread_losses[key] - expected) + RTOL * max(abs(expected), 1e-3)
        if abs(losses[key] - expected) > allowed:
            problems.append(f"step {i}: {key} = {losses[key]:.8g}, reference {expected:.8g}")
    for component, (role, keys) in names.items():
        state = getattr(model, component).state_dict()
        cancelled = cancelled_biases(getattr(model, component))
        for ours, theirs in keys.items():
            if theirs.endswith("num_batches_tracked"):
                continue
            if ours in cancelled:
                drift = max(abs(a - b) for a, b in zip(ref["weights"][role][theirs],
                                                        golden.summary(state[ours])))
                if drift > wander:
                    problems.append(f"step {i}: {component}.{ours} drifted {drift:.3g} from the "
                                    f"reference's, more than 2 * lr * steps = {wander:.3g}")
                continue
            bad = golden.summary_mismatch(ref["weights"][role][theirs],
                                          golden.summary(state[ours]),
                                          spread["weights"][role][theirs], rtol=RTOL,
                                          factor=FACTOR)
            if bad:
                problems.append(f"step {i}: {component}.{ours} ({role}.{theirs}): {bad}")
    # Adam's moments, by the reference's parameter names
    moments = {}
    for optimizer in vars(opt).values():
        for p in (p for group in optimizer.param_groups for p in group["params"]):
            moments[id(p)] = optimizer.state[p]
    reference_adam = {k: v for state in ref["adam"].values() for k, v in state.items()}
    spread_adam = {k: v for state in spread["adam"].values() for k, v in state.items()}
    for component, (role, keys) in names.items():
        cancelled = cancelled_biases(getattr(model, component))
        for ours, p in getattr(model, component).named_parameters():
            theirs = reference_adam[f"{role}.{keys[ours]}"]
            nearby = spread_adam[f"{role}.{keys[ours]}"]
            ours_state = moments[id(p)]
            if float(ours_state["step"]) != theirs["step"]:
                problems.append(f"step {i}: {component}.{ours}: Adam step "
                                f"{float(ours_state['step'])} vs {theirs['step']}")
            for moment in ("exp_avg", "exp_avg_sq") if ours not in cancelled else ():
                bad = golden.summary_mismatch(theirs[moment],
                                              golden.summary(ours_state[moment]),
                                              nearby[moment], rtol=RTOL, factor=FACTOR)
                if bad:
                    problems.append(f"step {i}: Adam {moment} of {component}.{ours}: {bad}")
    return problems


@pytest.fixture(autouse=True)
def one_thread():
    """The fixtures were recorded on one thread, and the tolerance is the reference's own fp32
    spread there: more threads sum convolutions in another order, which alone moves Adam's
    early moments past it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("fast", [False, True], ids=["reference-path", "fast-path"])
@pytest.mark.parametrize("name", list(golden.CASES))
def test_steps_match_the_reference(name, fast):
    problems = []
    for i, (ref, losses, model, opt, names) in enumerate(replay(name, fast=fast)):
        problems += _check_step(name, i, ref, losses, model, opt, names)
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:12])


def test_the_check_catches_a_different_step():
    """A step that differs from the reference (here: L1 weighted 10 instead of 100) fails."""
    fixture = golden.load("pix2pix_unet128")
    case = {**fixture["case"], "lambda_L1": 10.0}
    model, names = _pix2pix(case, fixture["shapes"])
    trainer, table = _train_table(case)
    entry = plugins.registry("trainers").get(trainer)
    cfg = structure(table, entry.config_cls, section="train")
    ctx = StepContext(cfg, torch.device("cpu"))
    opt = SimpleNamespace(**load_ref(entry.optimizers)(model, cfg, ctx))
    torch.manual_seed(golden.STEP_SEED)
    batch = golden.batches(case)[0]
    losses = {k: float(v) for k, v in
              load_ref(entry.step)(_batch(case, batch), model, opt, ctx).items()}
    problems = _check_step("pix2pix_unet128", 0, fixture["steps"][0], losses, model, opt, names)
    assert any("gen." in p for p in problems), problems[:5]
    # the losses of the first step do not depend on the weight: only the update does
    assert not any("loss_" in p for p in problems), problems[:5]


def test_fixtures_say_where_they_came_from():
    for name in golden.CASES:
        fixture = golden.load(name)
        assert "@" in fixture["reference"], name
        assert fixture["case"] == golden.CASES[name], f"{name}: re-run benchmarks/golden/record.py"
        assert {"torch", "threads", "cpu_capability"} <= set(fixture["environment"])


def test_the_recorder_without_the_reference_says_how_to_get_it():
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_REFERENCE_")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "golden" / "record.py")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "git clone https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix" in done.stdout
    assert "skipped: set GANZOO_REFERENCE_PIX2PIX" in done.stdout
