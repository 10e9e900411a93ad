"""`sqlgen config`: the commented YAML generated from the config models."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import BaseModel

from sqlgen.config import GeneratorConfig, apply_sets, load_config
from sqlgen.config.config_doc import render_config
from sqlgen.resources import default_config_path


def _models(model=GeneratorConfig):
    yield model
    for info in model.model_fields.values():
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _models(arg)


MODELS = list(dict.fromkeys(_models()))


def test_all_sections_walked():
    names = {m.__name__ for m in MODELS}
    assert {"LabelConfig", "NormalAmount", "UniformAmount", "S3Config"} <= names


@pytest.mark.parametrize(
    "sets",
    [
        [],
        ["feature.amount.distribution=uniform", "feature.amount.high=90", "s3.region=eu-west-1"],
        ["feature.amount.distribution=normal", "temporal.start_date=2024-12-01", "rows=7"],
    ],
)
def test_rendered_config_loads_back_equal(tmp_path, sets):
    cfg = apply_sets(load_config(), sets) if sets else load_config()
    path = tmp_path / "rendered.yaml"
    path.write_text(render_config(cfg))
    assert load_config(path) == cfg


def test_model_defaults_render_and_load_back(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text(render_config(GeneratorConfig()))
    assert load_config(path) == GeneratorConfig()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_appears_with_its_meaning(model):
    text = render_config(GeneratorConfig())
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} needs a description="
        # the field, set or shown as an alternative, with its description on a comment line
        assert re.search(rf"^\s*(#\s+)?{name}:", text, re.M), name
        first_words = " ".join(info.description.split()[:3])
        assert first_words in text, (name, first_words)


def test_ranges_and_changed_defaults_are_shown():
    text = render_config(load_config())
    assert "# v2: share of frauds never reported" in text
    assert "[>= 0, < 0.5]" in text  # label.noise_rate
    assert "(model default: 1)" in text  # the built-in default runs 2 workers


def test_builtin_default_file_is_the_rendered_default():
    """configs/default.yaml is `sqlgen config` output: regenerate it after a model change
    with `sqlgen config > configs/default.yaml`."""
    assert default_config_path().read_text() == render_config(load_config())
