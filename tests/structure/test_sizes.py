"""Small modules and short functions: no module in src/ over MAX_MODULE_LINES lines, no function
over MAX_FUNCTION_LINES (its whole body, decorators and docstring included).

    python tests/structure/test_sizes.py     # lists every module and function over the limits

Every module is under the limits today, so nothing is exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def over_limits() -> list[tuple[str, int]]:
    """(where, lines) for each module and function over its limit; where is path[:function]."""
    found = []
    for path in sorted((SRC / "comicmaintainer").rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found.append((name, len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append((f"{name}:{node.name}", lines))
    return found


def test_no_module_or_function_is_over_its_limit() -> None:
    over = [f"{where} ({lines} lines)" for where, lines in over_limits()]
    assert not over, "over the size limits: " + ", ".join(over)


if __name__ == "__main__":
    for where, lines in over_limits():
        print(f"{lines:5d}  {where}")
