"""Model cards: the README.md of a bundle, with the Hub metadata that makes it findable."""

from __future__ import annotations

from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from . import plugins
from ._version import __version__

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ summary }}

A **{{ architecture }}** GAN{% if paper %} ([paper]({{ paper }})){% endif %} trained with
[ganzoo](https://github.com/ganzoo/ganzoo) {{ ganzoo_version }}.
{% if sample %}
![Samples]({{ sample }})
{% endif %}
## Use it

```python
import ganzoo

model = ganzoo.load("{{ load_name }}")
images = model.generate(16, seed=0)   # [16, C, H, W] in [-1, 1]
```

or from the command line: `ganzoo sample {{ load_name }} -n 64 -o samples.png`.

## Components

| component | folder | needed for |
| --- | --- | --- |
{% for name, folder in components.items() %}| `{{ name }}` | `{{ folder }}/` | inference |
{% endfor %}{% for name, folder in training_components.items() %}| `{{ name }}` | `{{ folder }}/` | training only (`ganzoo.load(..., components="all")`) |
{% endfor %}
## Configuration

```json
{{ config_json }}
```
{% if metrics %}
## Metrics

| metric | value |
| --- | --- |
{% for key, value in metrics.items() %}| {{ key }} | {{ value }} |
{% endfor %}{% endif %}{% if recipe %}
## Training recipe

```toml
{{ recipe }}
```
{% endif %}"""


def make_card(index, *, load_name: str, license: str | None = None, datasets: list[str] = (),
              recipe: str | None = None, metrics: dict[str, Any] | None = None,
              sample: str | None = None) -> ModelCard:
    """The model card of a bundle described by ``index`` (a :class:`ganzoo.bundle.Index`)."""
    import json

    from .structure import unstructure

    entry = plugins.registry("architectures").get(index.architecture)
    data = ModelCardData(
        library_name="ganzoo",
        license=license or "other",
        tags=["ganzoo", "gan", "generative-adversarial-network", index.architecture, entry.task],
        datasets=list(datasets) or None,
        pipeline_tag="unconditional-image-generation" if entry.task == "unconditional" else None,
    )
    return ModelCard.from_template(
        data,
        template_str=TEMPLATE,
        title=load_name,
        summary=entry.summary,
        architecture=index.architecture,
        paper=entry.paper,
        ganzoo_version=__version__,
        load_name=load_name,
        sample=sample,
        components=index.components,
        training_components=index.training_components,
        config_json=json.dumps(unstructure(index.config), indent=2, sort_keys=True),
        metrics=metrics or {},
        recipe=recipe.strip() if recipe else None,
    )
