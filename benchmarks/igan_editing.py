"""iGAN editing measured on held-out photos (the figures of docs/editing.md).

    OMP_NUM_THREADS=1 python benchmarks/igan_editing.py --out igan_editing.json

For each of ``--photos`` 96x96 crops of the two photos held out of ``dcgan-photos``' training
(chelsea, scikit-learn's flower): project it, paint one rectangle of a random colour (a sixth of
the side, random place, seeded), edit with the default settings, morph and transfer. Reports:

- the stroked pixels' colour error (at the generator's size) of the projection and of the best
  candidate, and their ratio;
- the discriminator's logit of the best candidates, of the projections and of the real crops;
- the mean absolute change from G(z0) to G(z1) outside the stroke (dilated by 4 pixels);
- the transfer against pasting G(z1): in the changed region (|G(z1) - G(z0)| > 0.1 after
  resizing) the L1 of (result - photo) to (G(z1) - G(z0)), i.e. does the photo carry the edit's
  change; outside it the L1 of result to photo, i.e. does the photo stay;
- seconds per edit, projection and transfer.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F


def crops(count: int, size: int = 96) -> list[torch.Tensor]:
    from ganzoo.data.paired import TEST_PHOTOS
    from ganzoo.data.photos import photo

    found = []
    for name in TEST_PHOTOS:
        image = photo(name, 128)
        h, w = image.shape[-2:]
        for top, left in ((0, 0), (h - size, w - size), (0, w - size), (h - size, 0),
                          ((h - size) // 2, (w - size) // 2)):
            found.append(image[:, top:top + size, left:left + size])
    return found[:count]


def figure(model, critic, path: str) -> None:
    """One edit of the first held-out crop, side by side: photo with the stroke, projection,
    the best four candidates, transferred photo (each shown at 96 pixels)."""
    from ganzoo.editing import session
    from ganzoo.editing.constraints import Constraints
    from ganzoo.base.images import save_grid

    photo = crops(1)[0]
    mask = torch.zeros(1, 96, 96)
    mask[:, 8:40, 52:88] = 1
    blue = torch.tensor([-0.6, -0.2, 0.8]).view(3, 1, 1)
    result = session.run(model, photo, Constraints(color=blue.expand(3, 96, 96).clone(),
                                                   color_mask=mask), critic=critic, seed=0)
    stroked = torch.where(mask > 0, blue.expand(3, 96, 96), photo)
    big = [F.interpolate(image[None], size=(96, 96), mode="nearest")[0]
           for image in (result.projected, *result.candidates.images[:4])]
    save_grid(torch.stack([photo, stroked, big[0], *big[1:], result.transferred]), path, nrow=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--model", default="dcgan-photos")
    parser.add_argument("--out", default="igan_editing.json")
    parser.add_argument("--figure", help="also write the docs figure (a PNG) here")
    args = parser.parse_args()

    from ganzoo.editing import session
    from ganzoo.editing.constraints import Constraints
    from ganzoo.editing.manifold_edit import errors

    model, critic = session.load_editable(args.model)
    if args.figure:
        figure(model, critic, args.figure)
    rng = torch.Generator().manual_seed(0)
    rows = []
    for i, photo in enumerate(crops(args.photos)):
        side = photo.shape[-1]
        box = side // 6 * 2
        top, left = (int(v) for v in torch.randint(0, side - box, (2,), generator=rng))
        colour = torch.rand(3, 1, 1, generator=rng) * 2 - 1
        mask = torch.zeros(1, side, side)
        mask[:, top:top + box, left:left + box] = 1
        cons = Constraints(color=colour.expand(3, side, side).clone(), color_mask=mask)
        started = time.perf_counter()
        result = session.run(model, photo, cons, critic=critic, seed=i)
        total = time.perf_counter() - started
        g0, g1 = result.projected, result.candidates.images[0]
        before = float(errors(model, g0[None], cons)[0][0])
        after = float(result.candidates.color_error[0])
        res = model.config.resolution
        small = F.interpolate(mask[None], size=(res, res), mode="area")[0]
        outside = (F.max_pool2d(small[None], 9, 1, 4)[0] == 0).float()
        unstroked = float(((g1 - g0).abs().mean(0, keepdim=True) * outside).sum() / outside.sum())
        with torch.no_grad():
            real = F.interpolate(photo[None], size=(res, res), mode="bilinear", antialias=True)
            real_logit = float(critic(real).flatten()[0])
            start_logit = float(critic(g0[None]).flatten()[0])
        up0 = F.interpolate(g0[None], size=(side, side), mode="bilinear")[0]
        up1 = F.interpolate(g1[None], size=(side, side), mode="bilinear")[0]
        changed = (up1 - up0).abs().mean(0) > 0.1
        change = up1 - up0

        def l1(out: torch.Tensor) -> tuple[float, float]:
            inside = ((out - photo) - change).abs().mean(0)[changed]
            kept = (out - photo).abs().mean(0)[~changed]
            return (float(inside.mean()) if changed.any() else 0.0,
                    float(kept.mean()) if (~changed).any() else 0.0)

        ours, naive = l1(result.transferred), l1(up1)
        rows.append({
            "color_error_projection": before, "color_error_edit": after,
            "realism_edit": float(result.candidates.realism[0]), "realism_projection":
            start_logit, "realism_real": real_logit, "unstroked_change": unstroked,
            "changed_fraction": float(changed.float().mean()),
            "transfer_inside": ours[0], "transfer_outside": ours[1],
            "paste_inside": naive[0], "paste_outside": naive[1],
            "seconds_edit": result.seconds["edit"], "seconds_projection":
            result.seconds["projection"], "seconds_transfer": result.seconds["transfer"],
            "seconds_total": total, "kept": len(result.candidates)})
        print(json.dumps(rows[-1]))
    if not rows:
        return
    mean = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
    report = {"model": args.model, "photos": len(rows), "threads": torch.get_num_threads(),
              "cpu_capability": torch.backends.cpu.get_cpu_capability(),
              "machine": platform.machine(), "torch": torch.__version__, "mean": mean,
              "color_error_factor": mean["color_error_projection"] / mean["color_error_edit"],
              "rows": rows}
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)
    print(json.dumps({k: report[k] for k in report if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
