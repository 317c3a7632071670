"""The examples in the package's docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "bachata_common",
    "bachata_common.policy",
    "bachata_common.exceptions",
    "bachata_common.config",
    "bachata_common.resources",
    "bachata_common.temp_files",
    "bachata_common.organizer",
    "bachata_common.directory_organizer",
    "bachata_common.monitor",
    "bachata_common.performance_monitor",
    "bachata_common.couple",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
