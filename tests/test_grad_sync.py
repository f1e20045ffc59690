"""Bucketed gradient averaging started from the backward: two gloo processes compute what the
flattened exchange computes, bit for bit, and what one process computes on the global batch."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import torch
from torch import nn

from ganzoo.config.train_config import TrainConfig
from ganzoo.training.distributed import World
from ganzoo.training.grad_sync import plan_buckets

STEPS, BATCH = 3, 8
#: [train] grad_bucket_mb values: the flattened exchange, a bucket per tensor, a few tensors a
#: bucket, and DDP's 25 MB (one bucket for these networks).
BUCKETS = (0.0, 1e-6, 6e-4, 25.0)


def test_buckets_hold_whole_tensors_in_reverse_order_one_dtype_each():
    a, b, c = (nn.Parameter(torch.zeros(n)) for n in (100, 10, 300))  # 400, 40, 1200 bytes
    half = nn.Parameter(torch.zeros(50, dtype=torch.float16))
    assert plan_buckets([a, b, c], 1) == [[c], [b], [a]]
    assert plan_buckets([a, b, c], 1000) == [[c], [b, a]]  # c alone is past the cap
    assert plan_buckets([a, b, c], 10_000) == [[c, b, a]]
    assert plan_buckets([a, half, b], 10_000) == [[b, a], [half]]
    # DDP's smaller first bucket: the last layers' exchange starts early.
    assert plan_buckets([a, b, c], 10_000, first_bucket_bytes=1000) == [[c], [b, a]]


def test_grad_bucket_mb_must_be_a_finite_size():
    assert TrainConfig(grad_bucket_mb=0).grad_bucket_mb == 0
    for bad in (-1.0, float("nan"), 1e9):
        with pytest.raises(ValueError, match="grad_bucket_mb"):
            TrainConfig(grad_bucket_mb=bad)


class Gen(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 16)
        self.unused = nn.Linear(3, 3)  # never gets a gradient: holds its bucket back
        self.last = nn.Linear(16, 6)

    def forward(self, z):
        return self.last(torch.tanh(self.first(z)))


def make_nets():
    torch.manual_seed(0)
    gen = Gen()
    disc = nn.Sequential(nn.Linear(6, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16),
                         nn.LeakyReLU(0.2), nn.Linear(16, 1))
    return gen, disc


class PlainSGD:
    """What ``ctx.update`` needs of an optimizer: plain SGD, so that no ``torch.optim`` import
    of torch._dynamo (seconds) happens in each child process."""

    def __init__(self, params, lr: float):
        self.param_groups = [{"params": list(params), "lr": lr}]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for p in self.param_groups[0]["params"]:
            if p.grad is not None:
                p -= self.param_groups[0]["lr"] * p.grad


def train(world: World, bucket_mb: float, freeze: bool) -> tuple[dict, list[int]]:
    """A GAN step (D on real and fake, then G through D) on this rank's slice of the batch."""
    from ganzoo.training.context import StepContext

    gen, disc = make_nets()
    ctx = StepContext(TrainConfig(amp="none", device="cpu", grad_bucket_mb=bucket_mb),
                      torch.device("cpu"))
    ctx.world, ctx.freeze = world, freeze
    opt_g, opt_d = PlainSGD(gen.parameters(), 0.1), PlainSGD(disc.parameters(), 0.1)
    data = torch.Generator().manual_seed(1)
    share = slice(world.rank * BATCH // world.size, (world.rank + 1) * BATCH // world.size)
    overlapped = []
    for _ in range(STEPS):
        real, z = torch.randn(BATCH, 6, generator=data), torch.randn(BATCH, 4, generator=data)
        real, z = real[share], z[share]
        fake = gen(z)
        loss_d = (nn.functional.softplus(-disc(real)).mean()
                  + nn.functional.softplus(disc(fake.detach())).mean())
        ctx.update(opt_d, loss_d)
        with ctx.frozen(disc):
            loss_g = nn.functional.softplus(-disc(fake)).mean()
        ctx.update(opt_g, loss_g)
        overlapped += [sync.overlapped for sync in ctx._syncs.values()]
    weights = {f"gen.{k}": v for k, v in gen.state_dict().items()}
    weights.update({f"disc.{k}": v for k, v in disc.state_dict().items()})
    return weights, overlapped


def _rank(rank: int, store: str, out: str) -> None:
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    torch.set_num_threads(1)
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    results = {}
    for freeze in (True, False):
        for bucket_mb in BUCKETS:
            weights, overlapped = train(World(rank=rank, size=2), bucket_mb, freeze)
            key = f"{freeze}-{bucket_mb}"
            results.update({f"{key}/{k}": v for k, v in weights.items()})
            results[f"{key}/overlapped"] = torch.tensor(overlapped)
    torch.save(results, out)
    dist.destroy_process_group()


def test_two_gloo_processes_average_in_buckets_like_one_flattened_exchange(tmp_path):
    # fork where there is one: a spawned child spends seconds importing torch again.
    methods = multiprocessing.get_all_start_methods()
    spawn = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    outs = [str(tmp_path / f"rank{r}.pt") for r in range(2)]
    procs = [spawn.Process(target=_rank, args=(r, str(tmp_path / "store"), outs[r]))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    ranks = [torch.load(out, weights_only=True) for out in outs]

    for freeze in (True, False):
        one = train(World(), 0.0, freeze)[0]  # one process, the whole batch
        flat = {k: ranks[0][f"{freeze}-0.0/{k}"] for k in one}
        for bucket_mb in BUCKETS:
            for rank in ranks:
                got = {k: rank[f"{freeze}-{bucket_mb}/{k}"] for k in one}
                # Bucketed = flattened, bit for bit, on both ranks (two-rank sums commute).
                assert all(torch.equal(got[k], flat[k]) for k in one), (freeze, bucket_mb)
        for k in one:
            torch.testing.assert_close(flat[k], one[k], atol=1e-6, rtol=1e-5, msg=k)
        # The parameter without a gradient was never touched.
        assert torch.equal(flat["gen.unused.weight"], one["gen.unused.weight"])

    # With a bucket per tensor, all six of D's buckets went out from inside its backward, and
    # G's behind the unused layer waited for the end.
    overlapped = ranks[0]["True-1e-06/overlapped"].tolist()
    assert overlapped[0::2] == [6] * STEPS  # D's updates (made first)
    assert overlapped[1::2] == [2] * STEPS  # G: last.bias, last.weight; then unused holds back
    assert ranks[0]["True-25.0/overlapped"].tolist() == [1, 0] * STEPS
