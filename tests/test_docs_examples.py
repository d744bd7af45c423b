"""Every Python example in the documentation runs, against the simulator.

One collector for ``docs/**/*.md`` and ``README.md``: each page is one test, and its
```` ```python ```` blocks run in order in one namespace (a later block may use what an
earlier one defined), like a reader pasting them into one session.

The convention the examples follow (stated on the quickstart page too):

- Credentials and base URLs come from the environment, as in production code:
  ``aiomsg.EightByEight()`` and ``aiomsg.Revicom()`` with no arguments. For each page
  the test starts a fresh simulator and points ``AIOMSG_8X8_API_KEY``,
  ``AIOMSG_8X8_CHATAPPS_URL``, ``AIOMSG_8X8_SMS_URL``, ``AIOMSG_REVICOM_URL`` and
  ``AIOMSG_REVICOM_TOKEN`` at it. That simulator knows the sub-account ``my-sub``,
  the account ``EXAMPLE_ACCOUNT_ID`` with a DRAFT WhatsApp Flow ``flow-1`` on channel
  ``channel-1``, and schedules LINE sends (so they can be cancelled).
- A block is a script (``asyncio.run(main())`` at the end, run with no event loop
  running, as ``python example.py`` would), a snippet with top-level ``await`` (run on
  one event loop kept for the page), or defines ``async def main()`` without calling
  it (the collector awaits it). A block that defines ``test_*`` functions is a test
  module: it runs under pytest in a fresh directory, with the ``pyproject.toml`` shown
  on the same page (the first ``toml`` block with ``[tool.pytest.ini_options]``), or
  ``asyncio_mode = "auto"`` when the page shows none; every test in it must pass.
- A block that must not run says so in an HTML comment on the line before it:
  ``<!-- not-run: why -->``. They are counted and kept rare (``MAX_NOT_RUN``).
- Only loopback addresses resolve while examples run: an example that would reach a
  real provider fails instead.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import socket
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

# Imported here, before any example runs: pytester's in-process runs restore
# ``sys.modules`` afterwards, and a package first imported inside one (cryptography,
# loaded with trustme for a TLS example) would be imported again later around its
# already-initialised native module, whose type checks then fail.
import trustme  # noqa: F401

import aiomsg
from aiomsg.testing import Simulator

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE_SUB_ACCOUNT = "my-sub"
EXAMPLE_ACCOUNT_ID = "3fa85f6457174562b3fc2c963f66afa6"
EXAMPLE_CHANNEL = "channel-1"
EXAMPLE_FLOW = "flow-1"
#: Blocks marked ``<!-- not-run: ... -->`` across all pages; raise only with a reason.
MAX_NOT_RUN = 3
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>(?P<lang>[\w+-]*).*)$")
_NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->$")
#: Languages that look like Python but would escape the collector.
_PYTHON_ALIASES = frozenset({"py", "python3", "py3", "pycon", "ipython", "python-repl"})


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    info: str  # the whole info string after the fence
    code: str
    not_run: str | None  # the reason, when marked

    @property
    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"


def doc_pages() -> list[Path]:
    return [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]


def code_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their not-run markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = _NOT_RUN.match(previous)
        code = textwrap.dedent("\n".join(body)) if indent else "\n".join(body)
        reason = marker["reason"] if marker else None
        lang, info = opening["lang"].lower(), opening["info"].strip()
        blocks.append(Block(path, start + 1, lang, info, code + "\n", reason))
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [b for b in code_blocks(path) if b.lang == "python"]


def page_config(path: Path) -> str:
    """The page's own pyproject.toml for its test blocks, else a minimal one."""
    for block in code_blocks(path):
        if block.lang == "toml" and "[tool.pytest.ini_options]" in block.code:
            return block.code
    return (
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
        'asyncio_default_fixture_loop_scope = "function"\n'
    )


# ---------------------------------------------------------------------------- checks


def test_the_collector_finds_the_examples() -> None:
    pages = {p.relative_to(ROOT).as_posix(): python_blocks(p) for p in doc_pages()}
    assert pages["docs/quickstart.md"], "the quickstart has examples"
    assert pages["README.md"], "the README has examples"
    assert sum(len(b) for b in pages.values()) >= 20


def hides_python(block: Block) -> bool:
    """Python the collector would not run: ```py, ```pycon, ```{.python}, ..."""
    if block.lang == "python":
        return False
    words = set(re.findall(r"[a-z0-9]+", block.info.lower()))
    return block.lang in _PYTHON_ALIASES or bool(words & ({"python"} | _PYTHON_ALIASES))


def test_no_python_example_hides_under_another_language() -> None:
    hidden = [b.where for p in doc_pages() for b in code_blocks(p) if hides_python(b)]
    assert not hidden, f"write these as ```python so they run: {hidden}"


def test_not_run_examples_stay_rare_and_say_why() -> None:
    marked = [b for p in doc_pages() for b in python_blocks(p) if b.not_run is not None]
    assert len(marked) <= MAX_NOT_RUN, [f"{b.where}: {b.not_run}" for b in marked]


def test_the_marker_parser() -> None:
    assert _NOT_RUN.match("<!-- not-run: needs a real account -->")["reason"] == (  # type: ignore[index]
        "needs a real account"
    )
    assert _NOT_RUN.match("<!-- not-run: -->") is None  # a reason is required
    assert _NOT_RUN.match("<!-- not-run -->") is None


# ---------------------------------------------------------------------------- running


@contextmanager
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK_HOSTS:
            raise OSError(f"documentation examples may reach only the simulator, not {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield


async def start_example_simulator() -> Simulator:
    sim = Simulator(
        sub_accounts=(EXAMPLE_SUB_ACCOUNT,),
        account_id=EXAMPLE_ACCOUNT_ID,
        schedule_line_sends=True,
        seed=16,
    )
    sim.add_flow(EXAMPLE_CHANNEL, EXAMPLE_FLOW)
    return await sim.start()


def point_environment_at(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOMSG_8X8_API_KEY", sim.api_key)
    monkeypatch.setenv("AIOMSG_8X8_CHATAPPS_URL", sim.chatapps_url)
    monkeypatch.setenv("AIOMSG_8X8_SMS_URL", sim.sms_url)
    monkeypatch.setenv("AIOMSG_REVICOM_URL", sim.revicom_url)
    monkeypatch.setenv("AIOMSG_REVICOM_TOKEN", sim.revicom_token)


def count_tests(tree: ast.Module) -> int:
    return sum(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
        for node in tree.body
    )


def main_to_await(tree: ast.Module) -> bool:
    """The block defines ``async def main()`` and never calls it itself."""
    defines = any(isinstance(n, ast.AsyncFunctionDef) and n.name == "main" for n in tree.body)
    calls = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "main"
        for n in ast.walk(tree)
    )
    return defines and not calls


def run_test_module(block: Block, tests: int, pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject=page_config(block.path))
    pytester.makepyfile(test_example=block.code)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    failure = f"{block.where}: the example's tests did not all pass\n{result.stdout.str()}"
    assert result.ret == 0, failure
    assert result.parseoutcomes() == {"passed": tests}, failure


@pytest.mark.parametrize(
    "page",
    [p for p in doc_pages() if python_blocks(p)],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_examples_run(
    page: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    run_page(page, monkeypatch, pytester)


def run_page(page: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    blocks = [b for b in python_blocks(page) if b.not_run is None]
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        loopback_only(monkeypatch),
    ):
        sim = portal.call(start_example_simulator)
        try:
            point_environment_at(sim, monkeypatch)
            for block in blocks:
                run_block(block, namespace, portal, pytester)
        finally:
            portal.call(sim.stop)


def run_block(
    block: Block,
    namespace: dict[str, Any],
    portal: anyio.from_thread.BlockingPortal,
    pytester: pytest.Pytester,
) -> None:
    # Line numbers in tracebacks point into the page.
    source = "\n" * block.line + block.code
    tree = ast.parse(source, filename=str(block.path))
    tests = count_tests(tree)
    if tests:
        run_test_module(block, tests, pytester)
        return
    code = compile(
        tree, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    if code.co_flags & inspect.CO_COROUTINE:

        async def run_snippet() -> None:
            await eval(code, namespace)

        portal.call(run_snippet)
    else:
        # A script: asyncio.run() inside it needs a thread with no running loop.
        exec(code, namespace)
    if main_to_await(tree):
        main = namespace["main"]
        asyncio.run(main())


# ---------------------------------------------------------------------------- the collector


def write_page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text), encoding="utf-8")
    return page


def test_blocks_markers_and_indented_fences(tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        """
        <!-- not-run: shows a placeholder key -->

        ```python
        x = 1
        ```

        - in a list:

          ```python
          y = 2
          ```

        ```sh
        echo hi
        ```
        """,
    )
    blocks = code_blocks(page)
    assert [(b.lang, b.not_run) for b in blocks] == [
        ("python", "shows a placeholder key"),
        ("python", None),
        ("sh", None),
    ]
    assert blocks[1].code == "y = 2\n"


def test_python_under_another_name_is_caught(tmp_path: Path) -> None:
    fences = ["```py", "```pycon", "```{.python}", "~~~ python3", "```python title='x.py'"]
    text = "".join(f"{fence}\nx = 1\n{fence[:3]}\n\n" for fence in fences)
    blocks = code_blocks(write_page(tmp_path, text))
    assert [hides_python(b) for b in blocks] == [True, True, True, True, False]
    assert blocks[-1].lang == "python"


@pytest.mark.parametrize(
    "body",
    [
        "raise RuntimeError('boom')",  # a script
        "import asyncio\n\nasync def main() -> None:\n    raise RuntimeError('boom')",
        "import aiomsg\n\nasync with aiomsg.Revicom() as r:\n    await r.stop_batch(['x'])",
    ],
    ids=["script", "main", "top-level-await"],
)
def test_a_failing_example_fails_its_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester, body: str
) -> None:
    page = write_page(tmp_path, f"```python\n{body}\n```\n")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the example raised
        run_page(page, monkeypatch, pytester)


def test_a_failing_example_test_fails_its_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    body = "async def test_ok(aiomsg_revicom) -> None:\n    pass\n\n\n"
    body += "def test_wrong() -> None:\n    assert 1 == 2\n"
    page = write_page(tmp_path, f"```python\n{body}```\n")
    with pytest.raises(AssertionError, match="did not all pass"):
        run_page(page, monkeypatch, pytester)


def test_examples_reach_only_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    body = (
        "import aiomsg\n\n"
        "async with aiomsg.Revicom(base_url='https://direct.revicom.ltd') as r:\n"
        "    await r.stop_batch(['2a28d557-22a1-4be6-8908-1481723043dd'])\n"
    )
    page = write_page(tmp_path, f"```python\n{body}```\n")
    with pytest.raises(aiomsg.APIConnectionError) as caught:
        run_page(page, monkeypatch, pytester)
    causes = []
    error: BaseException | None = caught.value
    while error is not None:
        causes.append(str(error))
        error = error.__cause__ or error.__context__
    assert any("may reach only the simulator, not 'direct.revicom.ltd'" in c for c in causes)


def test_blocks_share_the_page_namespace_and_see_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester
) -> None:
    first = "import aiomsg\n\nasync with aiomsg.EightByEight() as c:\n"
    batch = "cf3cbbf5-3e2d-ea11-815d-020897df5459"
    first += f"    r = await c.chatapps.cancel_batch('{EXAMPLE_SUB_ACCOUNT}', '{batch}')\n"
    second = "assert r.cancelled_count == 0\n"
    page = write_page(tmp_path, f"```python\n{first}```\n\n```python\n{second}```\n")
    run_page(page, monkeypatch, pytester)
