"""How the simulator's modules depend on each other and on the library: only public
library modules, no cycle, and one owner of the state (the server is handed it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTING = Path(__file__).resolve().parents[2] / "aiomsg" / "testing"


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted(TESTING.glob("*.py")), ids=lambda p: p.name)
def test_the_simulator_imports_no_private_module_of_the_library(path: Path) -> None:
    private = [
        name
        for name in _imports(path)
        if (name.startswith("..") or name.startswith("aiomsg."))
        and any(part.startswith("_") for part in name.lstrip(".").split(".")[:3] if part)
        and not name.startswith("aiomsg.testing")
    ]
    assert private == [], f"{path.name} imports private library modules: {private}"


def test_the_server_does_not_import_the_simulator() -> None:
    assert not [n for n in _imports(TESTING / "_server.py") if "_simulator" in n]


def test_the_server_reads_no_private_attribute_of_what_it_serves() -> None:
    source = (TESTING / "_server.py").read_text("utf-8")
    assert re.findall(r"\bsim\._\w+|self\._sim\._\w+", source) == []
