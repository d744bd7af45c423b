"""The package as a whole: ``aiomsg`` and ``python -m aiomsg`` start it, ``--help`` loads
nothing a job needs, and nothing in it reaches past the library's public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aiomsg.cli

PACKAGE = Path(aiomsg.cli.__file__).parent
# The simulator's option parsing lives in aiomsg.testing, which does not export it yet.
ALLOWED_PRIVATE = {("simulator.py", "aiomsg.testing._serve")}


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            private = [p for p in parts[1:] if p.startswith("_") and not p.endswith("__")]
            if parts[0] == "aiomsg" and private:
                if (path.name, node.module if isinstance(node, ast.ImportFrom) else name) not in (
                    ALLOWED_PRIVATE
                ):
                    found.append(f"{path.name}: {name}")
    return found


def test_nothing_in_the_package_imports_a_private_part_of_the_library() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) > 10
    assert [f for path in files for f in _private_imports(path)] == []


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from aiomsg._codec import encode\nimport aiomsg._errors\n")
    assert _private_imports(bad) == ["bad.py: aiomsg._codec", "bad.py: aiomsg._codec.encode",
                                     "bad.py: aiomsg._errors"]  # fmt: skip


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_loads_neither_the_job_nor_tqdm() -> None:
    loaded = _run(
        "import sys, contextlib, io\n"
        "from aiomsg.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['revicom', 'stop', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    ).split()
    assert "aiomsg.cli.parser" in loaded
    assert "aiomsg.cli.job" not in loaded
    assert "aiomsg.cli.journal" not in loaded
    assert "tqdm" not in loaded


def test_python_dash_m_aiomsg_is_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aiomsg", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"aiomsg {aiomsg.__version__}"
