"""The executor contract: every registered executor implements it; choices derive from it."""

from __future__ import annotations

import typing

import pytest

from sqlgen.cli import build_parser
from sqlgen.config import GeneratorConfig, with_overrides
from sqlgen.execute.executor_api import EXECUTORS, Executor, make_executor


@pytest.mark.parametrize("name", sorted(EXECUTORS))
def test_registered_executors_implement_the_protocol(tiny, name):
    executor = make_executor(with_overrides(tiny, executor=name, num_workers=2))
    assert isinstance(executor, Executor)
    assert executor.name == name
    # Only Dask workers may lack the driver's disk, so only they upload their files.
    assert executor.worker_uploads is (name == "dask")


def test_cli_and_config_choices_come_from_the_registry():
    run = build_parser()._subparsers._group_actions[0].choices["run"]
    [action] = [a for a in run._actions if "--executor" in a.option_strings]
    assert tuple(action.choices) == ("auto", *EXECUTORS)
    literal = GeneratorConfig.model_fields["executor"].annotation
    assert typing.get_args(literal) == ("auto", *EXECUTORS)
