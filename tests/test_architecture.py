"""The rules of ARCHITECTURE.md, checked from the source by parsing imports with ``ast``.

Every ``import`` counts, wherever it stands (module level, inside a function, under
``TYPE_CHECKING``): each is a dependency a reader has to hold in their head. An
import of ``aiomsg.x.y`` is a dependency on that module only, not on the packages
above it. The checks walk the files present, so they apply to modules as they are
added, moved or split.

``KNOWN_*`` lists what the code does not meet yet, module by module, with the work
that will fix it: those cases are strict expected failures, so once a module meets
the rule its entry has to go.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import aiomsg

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "aiomsg"
PROVIDERS = ("eightxeight", "revicom")

#: The layers, lowest first: a module may import its own layer or a lower one, never a
#: higher one. The first pattern a module's name matches gives its layer.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors", ("aiomsg._version", "aiomsg._redact", "aiomsg._errors")),
    (
        "rules",
        (
            "aiomsg._validation",
            "aiomsg._numbers",
            "aiomsg._retry",
            "aiomsg._limits",
            "aiomsg._transport",
        ),
    ),
    ("codec and models", ("aiomsg._codec", *(f"aiomsg.{p}.models" for p in PROVIDERS))),
    ("engine", ("aiomsg._core", "aiomsg.bulk", "aiomsg.bulk.*")),
    ("routes", tuple(f"aiomsg.{p}.routes" for p in PROVIDERS)),
    (
        "providers",
        ("aiomsg._client", *(f"aiomsg.{p}{tail}" for p in PROVIDERS for tail in ("", ".*"))),
    ),
    ("receipts", ("aiomsg.receipts", "aiomsg.receipts.*")),
    ("public API", ("aiomsg",)),
    ("testing", ("aiomsg.testing", "aiomsg.testing.*")),
    (
        "cli",
        (
            "aiomsg.cli",
            "aiomsg.cli.*",
            "aiomsg.__main__",
            # The command line before it became a package.
            "aiomsg._cli_*",
            "aiomsg._journal",
            "aiomsg._demo",
        ),
    ),
)

#: Modules that import a private module of the library from outside their own part.
KNOWN_PRIVATE_IMPORTS: Mapping[str, str] = {}
#: Simulator modules that read the client's own request rules.
KNOWN_CLIENT_RULES_IN_SIMULATOR: Mapping[str, str] = {}
#: Modules in an import cycle.
KNOWN_CYCLES: Mapping[str, str] = {}
#: Modules that spell out a route's path rather than reading it from a routes module.
KNOWN_ROUTE_COPIES: Mapping[str, str] = {}
#: Status errors built outside ``error_from_response``, each for a reason that is not
#: an answer: (module, class) -> why.
STATUS_ERRORS_WITHOUT_AN_ANSWER: Mapping[tuple[str, str], str] = {
    ("aiomsg._core", "RateLimitError"): "an attempt not sent: the API is paused after a 429",
}


@dataclass(frozen=True)
class Import:
    """One imported module (or one name imported from a module) of ``aiomsg``."""

    module: str
    name: str | None
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@cache
def tree_of(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), str(modules()[name]))


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module or ""
    package = importer if modules()[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def parse_imports(importer: str, tree: ast.Module, known: frozenset[str]) -> Iterator[Import]:
    """Every import of an ``aiomsg`` module in ``tree``; ``from p import m`` of a
    submodule ``m`` is an import of ``p.m``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "aiomsg":
                    yield Import(alias.name, None, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = resolve(importer, node)
            if source.split(".")[0] != "aiomsg":
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    yield Import(f"{source}.{alias.name}", None, node.lineno)
                else:
                    yield Import(source, alias.name, node.lineno)


@cache
def imports_of(name: str) -> tuple[Import, ...]:
    return tuple(parse_imports(name, tree_of(name), frozenset(modules())))


def layer_of(name: str) -> int | None:
    for rank, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            return rank
    return None


def upward_imports(graph: Mapping[str, tuple[Import, ...]]) -> list[str]:
    found = []
    for importer, imported in graph.items():
        own = layer_of(importer)
        for imp in imported:
            target = layer_of(imp.module)
            if own is not None and target is not None and target > own:
                found.append(
                    f"{importer}:{imp.line} imports {imp.module} "
                    f"({LAYERS[target][0]} is above {LAYERS[own][0]})"
                )
    return found


def cycle_members(graph: Mapping[str, set[str]]) -> set[str]:
    """Modules that reach themselves again through their imports (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    members: set[str] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                members.update(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return members


def module_graph() -> dict[str, set[str]]:
    return {m: {i.module for i in imports_of(m) if i.module in modules()} for m in modules()}


def is_private(module: str, name: str | None) -> bool:
    parts = [*module.split("."), *([name] if name else [])]
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def params(names: list[str], known: Mapping[str, str]) -> list[object]:
    return [
        pytest.param(
            n, marks=pytest.mark.xfail(raises=AssertionError, strict=True, reason=known[n])
        )
        if n in known
        else n
        for n in names
    ]


def part(pattern_layer: str) -> list[str]:
    patterns = dict(LAYERS)[pattern_layer]
    return [m for m in modules() if any(fnmatch.fnmatchcase(m, p) for p in patterns)]


# ------------------------------------------------------------------------- layers


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None] == [], "add it to LAYERS"


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    """Models know nothing of HTTP, the transport knows no provider, providers know
    no command line: each module imports only its own layer and those below."""
    assert upward_imports({module: imports_of(module)}) == []


@pytest.mark.parametrize("module", params(sorted(modules()), KNOWN_CYCLES))
def test_no_module_is_in_an_import_cycle(module: str) -> None:
    assert module not in cycle_members(module_graph())


# ---------------------------------------------------------------- the public surface


@pytest.mark.parametrize(
    "module", params(sorted([*part("testing"), *part("cli")]), KNOWN_PRIVATE_IMPORTS)
)
def test_the_simulator_and_the_cli_use_the_public_api(module: str) -> None:
    """They use the library as any user would: no private module or name of another part."""
    private = [
        f"line {i.line}: {i.module}" + (f".{i.name}" if i.name else "")
        for i in imports_of(module)
        if layer_of(i.module) != layer_of(module) and is_private(i.module, i.name)
    ]
    assert private == []


@pytest.mark.parametrize("module", params(sorted(part("testing")), KNOWN_CLIENT_RULES_IN_SIMULATOR))
def test_the_simulator_judges_requests_by_the_contract_not_the_client(module: str) -> None:
    """So a rule too lax in the client cannot also be too lax in the simulator."""
    rules = {"aiomsg._validation", *(f"aiomsg.{p}.models" for p in PROVIDERS)}
    assert [f"line {i.line}: {i.module}" for i in imports_of(module) if i.module in rules] == []


# ----------------------------------------------------------------- one owner per rule


@pytest.mark.parametrize(
    "module", sorted(m for m in modules() if fnmatch.fnmatchcase(m, "aiomsg.bulk*"))
)
def test_the_bulk_layer_never_builds_a_url(module: str) -> None:
    url_builders = {"aiomsg._transport", "yarl", "aiohttp", "urllib.parse"}
    url_builders |= {f"aiomsg.{p}.routes" for p in PROVIDERS}
    found = [
        f"line {node.lineno}: {name}"
        for node in ast.walk(tree_of(module))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [resolve(module, node)]
        )
        if name in url_builders or name.split(".")[0] in {"yarl", "aiohttp"}
    ]
    assert found == []


def status_error_names() -> set[str]:
    found: set[str] = set()
    todo: list[type] = [aiomsg.APIStatusError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found | {"status_error_class"}


def called_names(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                yield func.id, node.lineno
            elif isinstance(func, ast.Attribute):
                yield func.attr, node.lineno


def test_one_function_turns_a_response_into_an_exception() -> None:
    """``aiomsg._errors.error_from_response``: nowhere else is a status error built
    from an answer."""
    names = status_error_names()
    elsewhere = [
        f"{module}:{line} calls {name}"
        for module in modules()
        if module != "aiomsg._errors"
        for name, line in called_names(tree_of(module))
        if name in names and (module, name) not in STATUS_ERRORS_WITHOUT_AN_ANSWER
    ]
    assert elsewhere == []
    inside = {
        node.name
        for node in ast.walk(tree_of("aiomsg._errors"))
        if isinstance(node, ast.FunctionDef)
        and any(name in names for name, _ in called_names(node))
    }
    assert inside == {"error_from_response"}


@pytest.mark.parametrize("module", params(sorted(modules()), KNOWN_ROUTE_COPIES))
def test_routes_are_declared_once(module: str) -> None:
    """A provider path (``/api/...``) is written only in ``aiomsg.<provider>.routes``;
    the client, the simulator, its faults and the command line read it from there."""
    if module in {f"aiomsg.{p}.routes" for p in PROVIDERS}:
        return
    paths = [
        f"line {node.lineno}: {node.value!r}"
        for node in ast.walk(tree_of(module))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("/api/")
    ]
    assert paths == []


# ------------------------------------------------------------- the checks themselves


def test_the_architecture_page_draws_these_layers_in_this_order() -> None:
    page = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    drawn = [
        line.split("|")[1].strip()
        for line in page.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() not in {"", "layer"}
    ]
    assert drawn == [name for name, _ in LAYERS]


def test_the_checks_catch_what_they_should() -> None:
    fake = ast.parse(
        "from ..eightxeight.client import EightByEight\n"
        "def f():\n    from .. import testing\n"
        "from aiomsg._errors import AiomsgError\n"
    )
    known = frozenset({"aiomsg.testing", "aiomsg.eightxeight.client", "aiomsg._errors"})
    modules()["aiomsg.bulk.fake"] = PACKAGE / "bulk" / "fake.py"
    try:
        found = list(parse_imports("aiomsg.bulk.fake", fake, known))
    finally:
        del modules()["aiomsg.bulk.fake"]
    assert [(i.module, i.name) for i in found] == [
        ("aiomsg.eightxeight.client", "EightByEight"),
        ("aiomsg._errors", "AiomsgError"),
        ("aiomsg.testing", None),
    ]
    assert len(upward_imports({"aiomsg.bulk.fake": tuple(found)})) == 2
    assert cycle_members({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {"a", "b", "c"}
    assert cycle_members({"a": {"a"}, "b": set()}) == {"a"}
    assert is_private("aiomsg._validation", None)
    assert is_private("aiomsg.bulk", "_compact")
    assert not is_private("aiomsg.eightxeight.client", "REGIONS")
    assert not is_private("aiomsg", "__version__")
