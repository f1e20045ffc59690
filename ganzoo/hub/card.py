"""Model cards: the README.md of a bundle, with the Hub metadata that makes it findable."""

from __future__ import annotations

from typing import Any

from huggingface_hub import ModelCard, ModelCardData

import ganzoo.plugin.manager as plugins
from ganzoo._version import __version__

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
{{ usage }}```
{% if command %}
or from the command line: `{{ command }}`.
{% endif %}
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


#: The Hub's pipeline tag of each kind's task.
PIPELINE_TAGS = {"unconditional": "unconditional-image-generation",
                 "text-to-image": "text-to-image", "image-to-image": "image-to-image",
                 "super-resolution": "image-to-image"}


def model_class(index) -> type:
    """The class of the model ``index`` describes, built on the meta device (no memory, no
    initialisation work) to learn its kind."""
    import torch

    from ganzoo.hub.bundle import build_model

    with torch.device("meta"):
        return type(build_model(index.architecture, index.config))


def make_card(index, *, load_name: str, license: str | None = None, datasets: list[str] = (),
              recipe: str | None = None, metrics: dict[str, Any] | None = None,
              sample: str | None = None, model_cls: type | None = None) -> ModelCard:
    """The model card of a bundle described by ``index`` (a :class:`ganzoo.hub.bundle.Index`).

    Its usage snippet and command come from the model's kind (``model_cls``, by default the
    class the index builds)."""
    import json

    from ganzoo.nn.kinds import task_of
    from ganzoo.config.structure import unstructure

    entry = plugins.registry("architectures").get(index.architecture)
    cls = model_cls or model_class(index)
    task = task_of(cls)
    data = ModelCardData(
        library_name="ganzoo",
        license=license or "other",
        tags=["ganzoo", "gan", "generative-adversarial-network", index.architecture, task],
        datasets=list(datasets) or None,
        pipeline_tag=PIPELINE_TAGS.get(task),
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
        usage=cls.usage(load_name, index.config),
        command=getattr(cls, "command", "").format(model=load_name),
        sample=sample,
        components=index.components,
        training_components=index.training_components,
        config_json=json.dumps(unstructure(index.config), indent=2, sort_keys=True),
        metrics=metrics or {},
        recipe=recipe.strip() if recipe else None,
    )
