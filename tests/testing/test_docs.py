"""The usage example in ``aiomsg.testing``'s docstring runs as written."""

from __future__ import annotations

import textwrap
from typing import Any

import aiomsg.testing


def _example() -> str:
    doc = aiomsg.testing.__doc__ or ""
    block = doc.split("::\n", 1)[1]
    lines = []
    for text in block.splitlines()[1:]:
        if text and not text.startswith("    "):
            break
        lines.append(text)
    return textwrap.dedent("\n".join(lines))


async def test_module_docstring_example_runs() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_example(), "aiomsg.testing example", "exec"), namespace)
    await namespace["test_cancel_survives_a_503"]()
