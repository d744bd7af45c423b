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
