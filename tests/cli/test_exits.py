"""Exit codes: every one is in the help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aiomsg.cli import main


def test_every_exit_code_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--help"], ["revicom", "stop", "--help"], ["8x8", "line", "send", "--help"]):
        with pytest.raises(SystemExit):
            main(args)
        text = capsys.readouterr().out
        for code in range(5):
            assert re.search(rf"^  {code}  \S", text, re.M), (args, code)
    guide = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "| 4 | items failed because their requests failed as a whole" in guide
