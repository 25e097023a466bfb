"""Issue 28 §5: no module of the engine over 600 lines, no function over 80.

One checking function (:func:`oversized`) walks a module's syntax tree; the test runs it on every source file of
``scripts/juniper_release`` and, to show its failure path, on small synthetic sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scripts" / "juniper_release"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def oversized(
    source: str, name: str, max_module: int = MAX_MODULE_LINES, max_function: int = MAX_FUNCTION_LINES
) -> list[str]:
    """One line per breach of the rule in ``source`` (the module ``name``): the module's length, and every function
    or method (nested ones too) longer than ``max_function`` lines, decorators left out."""
    found = []
    length = len(source.splitlines())
    if length > max_module:
        found.append(f"{name}: {length} lines (the limit is {max_module}): move a cohesive group to a new module")
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > max_function:
                found.append(
                    f"{name}:{node.lineno}: function {node.name} is {size} lines (the limit is {max_function}): "
                    "split it"
                )
    return found


def test_every_module_and_function_of_the_engine_fits_the_limits() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the walk found the package, not an empty directory
    breaches = [
        line
        for path in files
        for line in oversized(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE.parent).as_posix())
    ]
    assert breaches == []


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines - 1))
    return f"{indent}def {name}() -> None:\n{body}"


def test_a_long_function_a_long_method_and_a_long_module_are_named() -> None:
    fits = _function("short", 80)
    assert oversized(fits, "ok.py") == []
    long_function = _function("long", 81)
    assert oversized(long_function, "f.py") == ["f.py:1: function long is 81 lines (the limit is 80): split it"]
    method = "class Box:\n" + _function("big", 85, indent="    ")
    assert oversized(method, "m.py") == ["m.py:2: function big is 85 lines (the limit is 80): split it"]
    nested = "async def outer() -> None:\n" + _function("inner", 82, indent="    ")
    assert oversized(nested, "n.py") == [
        "n.py:1: function outer is 83 lines (the limit is 80): split it",
        "n.py:2: function inner is 82 lines (the limit is 80): split it",
    ]
    module = "\n".join(f"x{i} = {i}" for i in range(601))
    assert oversized(module, "big.py") == [
        "big.py: 601 lines (the limit is 600): move a cohesive group to a new module"
    ]
    assert oversized(module, "big.py", max_module=700) == []
