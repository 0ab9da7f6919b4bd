"""dbt hands a Python model only the refs its own parser finds in the model's file
(dbt.parser.models.PythonParseVisitor): a ref it cannot see compiles and then fails
at run time with KeyError. Its walk misses some shapes, e.g. a ref inside an indexed
chain such as dbt.ref("x").df()["c"] (which broke bi_snapshot once); every
dbt.ref("...") written in a model must be one dbt finds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from dbt.parser.models import PythonParseVisitor

PYTHON_MODELS = sorted((Path(__file__).resolve().parents[3] / "python_models").rglob("*.py"))
WRITTEN_REF = re.compile(r"""dbt\.ref\(\s*["']([^"']+)["']""")


def _refs_dbt_finds(source: str) -> set[str]:
    visitor = PythonParseVisitor(dbt_node=None)
    visitor.visit(ast.parse(source))
    return {args[0] for name, args, _ in visitor.dbt_function_calls if name == "ref"}


@pytest.mark.parametrize("path", PYTHON_MODELS, ids=lambda p: p.stem)
def test_dbt_finds_every_ref_a_python_model_writes(path):
    source = path.read_text(encoding="utf-8")
    assert set(WRITTEN_REF.findall(source)) == _refs_dbt_finds(source)


def test_the_check_sees_a_ref_dbt_misses():
    source = 'def model(dbt, session):\n    return dbt.ref("x").df()["c"].tolist()\n'
    assert WRITTEN_REF.findall(source) == ["x"]
    assert _refs_dbt_finds(source) == set()
