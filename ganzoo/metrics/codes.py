"""``code-accuracy``: how well an unsupervised categorical input matches the digit classes.

For a model with a :class:`ganzoo.DiscreteInput` (InfoGAN's categorical code, or a conditional
model's labels), ``n`` images are drawn with the input's values cycling ``0, 1, ..., K - 1, 0,
...`` (everything else from the model's priors), the shipped digits classifier labels them, and
code values are matched one-to-one to classes so that the most images agree (the Hungarian
algorithm, ``scipy.optimize.linear_sum_assignment``, on the K x 10 table of counts). The value
is the fraction of images whose class is their code's matched class; a code value left without
a class (K > 10) counts every image of it as wrong.
"""

from __future__ import annotations

import math
from typing import Any

from ganzoo.base.errors import GanzooError
from ganzoo.metrics.base import GENERATE_BATCH, Metric, Score


def discrete_input(model: Any):
    """The model's first declared :class:`ganzoo.DiscreteInput`; a :class:`GanzooError` if none."""
    from ganzoo.nn.kinds import DiscreteInput, LatentGenerator

    kind = getattr(model, "architecture", "") or type(model).__name__
    declared = model.inputs() if isinstance(model, LatentGenerator) else ()
    for item in declared:
        if isinstance(item, DiscreteInput):
            return item
    raise GanzooError(f"metric 'code-accuracy' needs a model with a categorical input (a "
                      f"DiscreteInput, such as InfoGAN's code); {kind} declares none")


def matched_accuracy(codes, classes, count: int, num_classes: int = 10
                     ) -> tuple[float, dict[int, int], Any]:
    """``(accuracy, {code: class}, K x num_classes counts)`` of the best one-to-one matching."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((count, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(codes), np.asarray(classes)), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    matched = int(counts[rows, cols].sum())
    return matched / max(1, int(counts.sum())), {int(r): int(c) for r, c in zip(rows, cols)}, counts


class CodeAccuracy(Metric):
    """See the module docstring."""

    name = "code-accuracy"
    real_data = "none (the classifier was trained on the digits train split)"

    def compute(self, model: Any, *, n: int, seed: int, device: Any) -> Score:
        import torch

        from ganzoo.metrics import digits_classifier
        from ganzoo.metrics.digits import _batched

        item = discrete_input(model)
        codes = [i % item.count for i in range(n)]
        chunks = math.ceil(n / GENERATE_BATCH)
        seeds = [seed] if chunks == 1 else torch.randint(
            0, 2**62, (chunks,), generator=torch.Generator().manual_seed(seed)).tolist()
        images = []
        for i, chunk_seed in enumerate(seeds):
            part = codes[i * GENERATE_BATCH:(i + 1) * GENERATE_BATCH]
            drawn = model.generate(len(part), seed=chunk_seed, **{item.name: part})
            images.append(drawn.detach().to("cpu", torch.float32))
        net = digits_classifier.load_classifier(device=device)
        predicted = _batched(net, torch.cat(images), device).argmax(dim=1)
        accuracy, matching, counts = matched_accuracy(codes, predicted.tolist(), item.count)
        config = digits_classifier.classifier_config()
        protocol = self.protocol(
            n_real=0, n_fake=n, seed=seed, extractor=config["name"],
            extractor_sha256=config["sha256"], resizer=digits_classifier.RESIZER,
            extra={"input": item.name, "codes": f"i % {item.count} for i in range(n)",
                   "matching": "Hungarian (scipy.optimize.linear_sum_assignment), one-to-one",
                   "classifier_test_accuracy": config["test_accuracy"]})
        per_code = {str(code): float(counts[code, cls] / max(1, counts[code].sum()))
                    for code, cls in matching.items()}
        return self.score(accuracy, protocol,
                          {"matching": {str(k): v for k, v in matching.items()},
                           "per_code": per_code, "chance": 1.0 / 10})
