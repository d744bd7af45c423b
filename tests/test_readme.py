"""The README's simulator examples run as written."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def block_defining(name: str) -> dict[str, Any]:
    for block in python_blocks():
        if f"def {name}(" in block:
            namespace: dict[str, Any] = {}
            exec(compile(block, str(README), "exec"), namespace)
            return namespace
    pytest.fail(f"README has no example defining {name}")


async def test_readme_simulator_example_runs() -> None:
    example: Callable[[], Coroutine[Any, Any, None]] = block_defining("test_cancel_after_a_503")[
        "test_cancel_after_a_503"
    ]
    await example()


async def test_readme_fixture_example_runs(aiomsg_simulator: Any, aiomsg_revicom: Any) -> None:
    example = block_defining("test_stop")["test_stop"]
    await example(aiomsg_simulator, aiomsg_revicom)
