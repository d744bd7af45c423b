"""``import aiomsg`` stays lean: what bots and command-line tools pay at every start.

Speed itself is measured in ``benchmarks/importtime.py``; these tests check which
modules an import loads, in a fresh interpreter, which does not depend on the
machine's load.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Optional parts and what only they need: the simulator, the command line, the
# receipts store and their dependencies. None is needed to build or use a client.
HEAVY: tuple[str, ...] = (
    "aiomsg.testing",
    "aiomsg.cli",
    "aiomsg.receipts",
    "aiomsg.__main__",
    "sqlite3",
    "_sqlite3",
    "tqdm",
    "argparse",
    "hypothesis",
    "pytest",
)


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "code",
    [
        "import aiomsg",
        "from aiomsg import *",
        # Every public name touched, as a program using the whole API would.
        "import aiomsg\nfor name in aiomsg.__all__: getattr(aiomsg, name)",
        "from aiomsg import EightByEight, Revicom, BulkReport, LineNotification",
    ],
)
def test_import_does_not_load_optional_parts(code: str) -> None:
    assert _heavy_in(_loaded_after(code)) == []


def test_the_check_sees_an_optional_part_when_it_is_loaded() -> None:
    # The same probe, on code that does load one, finds it: the test above can fail.
    assert _heavy_in(_loaded_after("import aiomsg, aiomsg.receipts")) != []


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import aiomsg", ("aiomsg.eightxeight", "aiomsg.revicom")),
        (
            "import aiomsg\naiomsg.RateLimit, aiomsg.BulkReport",
            ("aiomsg.eightxeight", "aiomsg.revicom"),
        ),
        ("from aiomsg import EightByEight, LineNotification", ("aiomsg.revicom",)),
        ("import aiomsg\naiomsg.Revicom, aiomsg.StopResult", ("aiomsg.eightxeight",)),
    ],
)
def test_a_provider_loads_on_first_use_of_its_names(code: str, absent: tuple[str, ...]) -> None:
    loaded = _loaded_after(code)
    assert "aiomsg" in loaded
    assert [m for m in loaded if any(m == a or m.startswith(a + ".") for a in absent)] == []


def test_the_provider_probe_sees_a_loaded_provider() -> None:
    assert "aiomsg.revicom" in _loaded_after("from aiomsg import Revicom")
    assert "aiomsg.eightxeight" in _loaded_after("from aiomsg import LineUser")


def test_names_loaded_on_use_are_the_providers_objects() -> None:
    import aiomsg
    from aiomsg.eightxeight import EightByEight
    from aiomsg.eightxeight.models import LineNotification
    from aiomsg.revicom import Revicom
    from aiomsg.revicom.models import StopCode

    assert aiomsg.EightByEight is EightByEight
    assert aiomsg.LineNotification is LineNotification
    assert aiomsg.Revicom is Revicom
    assert aiomsg.StopCode is StopCode
    assert set(aiomsg.__all__) <= set(dir(aiomsg))


def test_an_unknown_name_is_an_attribute_error() -> None:
    import aiomsg

    with pytest.raises(AttributeError, match="has no attribute 'EightByNine'"):
        _ = aiomsg.EightByNine  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from aiomsg import Nope", {})


def test_every_public_name_in_a_fresh_interpreter_is_named_as_imported() -> None:
    # Names loaded on first use follow the same naming rule as the others: errors
    # named ``aiomsg.X``, nothing shown from a private module; and they pickle.
    code = (
        "import aiomsg, pickle\n"
        "bad = []\n"
        "for name in aiomsg.__all__:\n"
        "    obj = getattr(aiomsg, name)\n"
        "    if not isinstance(obj, type): continue\n"
        "    if issubclass(obj, BaseException) and obj.__module__ != 'aiomsg': bad.append(name)\n"
        "    if obj.__module__.startswith('aiomsg._'): bad.append(name)\n"
        "item = aiomsg.StopItem(message_uuid='0b8e5f3c-6f0e-4a39-9d55-6e2a3b1c0d4e', code=0)\n"
        "assert pickle.loads(pickle.dumps(item)) == item\n"
        "print('BAD', bad)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "BAD []"


def test_names_loaded_on_use_are_the_ones_type_checkers_import() -> None:
    # aiomsg/__init__.py lists the provider names twice: as imports for type checkers
    # and as the table read at run time. Both say the same name -> module.
    import ast
    from pathlib import Path

    import aiomsg

    tree = ast.parse(Path(aiomsg.__file__).read_text(encoding="utf-8"))
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported = {
        alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    assert imported == dict(aiomsg._PROVIDER_NAMES)
    assert set(imported) <= set(aiomsg.__all__)
