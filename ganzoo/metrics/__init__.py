"""Evaluation metrics: every score comes with the protocol it was measured under.

```python
from ganzoo.metrics import evaluate

scores = evaluate(model, ["fd-digits", "kid-digits"], n=1000, seed=0)
scores["fd-digits"].value, scores["fd-digits"].protocol
```

Metrics are registered by name (``ganzoo list metrics``); see ``docs/metrics.md`` for each one's
protocol. Importing this package does not import torch.
"""

from __future__ import annotations

from ganzoo.metrics.base import Metric, Protocol, Score, evaluate, metric_for

__all__ = ["Metric", "Protocol", "Score", "evaluate", "metric_for"]
