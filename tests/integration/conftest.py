"""Every test in this folder builds with dbt: all are marked ``integration``.

The shared fixtures (``small_raw_data``, ``built_warehouse``, ``raw_copy``) are in
tests/conftest.py, which also refuses a dbt-building test outside this folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)
