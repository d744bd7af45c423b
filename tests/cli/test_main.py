"""The package as a whole: ``aiomsg`` and ``python -m aiomsg`` start it, and ``--help``
loads nothing a job needs."""

from __future__ import annotations

import subprocess
import sys

import aiomsg.cli

# That nothing in the package imports a private part of the library is checked with
# the rest of the layering, in tests/test_architecture.py.


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
