"""The style's size limits hold in every module of the package, and the show feed's parts do
not import each other in a circle."""

import ast
from pathlib import Path

import pytest

import sharemyshows_rt

PACKAGE = Path(sharemyshows_rt.__file__).parent
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_modules_and_functions_are_small(path):
    source = path.read_text()
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.add(node.module)
    return names


def test_the_delivery_modules_import_no_circle():
    graph = {path.stem: _imports(path) for path in (PACKAGE / "delivery").glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            name == goal or (name not in seen and reaches(name, goal, seen | {name}))
            for name in graph.get(start, ())
        )

    assert [name for name in graph if reaches(name, name, set())] == []
