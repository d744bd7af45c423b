"""Every public name has a docstring, and the API reference shows every public name.

Public: everything in ``aiomsg.__all__``, ``aiomsg.testing.__all__`` and
``aiomsg.receipts.__all__``, the resources
a client hands out (``client.chatapps``, ``client.sms``), the chunk results a stream
hands out, and the public methods and properties of all of them (inherited ones too,
where aiomsg defines them).
"""

from __future__ import annotations

import ast
import enum
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aiomsg
import aiomsg.receipts
import aiomsg.testing
from aiomsg.bulk import ChunkResult, PackedStrings
from aiomsg.eightxeight.chatapps import ChatApps
from aiomsg.eightxeight.sms import Sms

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"

#: Reached through an attribute or a stream rather than by import, but public all the same.
REACHABLE = {
    "aiomsg.eightxeight.chatapps.ChatApps": ChatApps,
    "aiomsg.eightxeight.sms.Sms": Sms,
    "aiomsg.bulk.ChunkResult": ChunkResult,
    "aiomsg.bulk.PackedStrings": PackedStrings,
}


def public_names() -> dict[str, Any]:
    names = {f"aiomsg.{n}": getattr(aiomsg, n) for n in aiomsg.__all__ if n != "__version__"}
    names.update(
        {f"aiomsg.testing.{n}": getattr(aiomsg.testing, n) for n in aiomsg.testing.__all__}
    )
    names.update(
        {f"aiomsg.receipts.{n}": getattr(aiomsg.receipts, n) for n in aiomsg.receipts.__all__}
    )
    names.update(REACHABLE)
    return names


def own_doc(obj: Any) -> str:
    """The docstring written for ``obj`` itself: not inherited, not generated."""
    if isinstance(obj, type):
        doc = obj.__dict__.get("__doc__") or ""
        generated = (
            doc.startswith(f"{obj.__name__}(")  # dataclasses write their signature
            or (issubclass(obj, enum.Enum) and doc == "An enumeration.")
        )
        return "" if generated else doc.strip()
    return (getattr(obj, "__doc__", None) or "").strip()


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties that aiomsg defines on ``cls`` or its bases."""
    seen: set[str] = set()
    for owner in cls.__mro__:
        if not owner.__module__.startswith("aiomsg"):
            continue
        for name, member in vars(owner).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(member, property):
                yield name, member.fget
            elif isinstance(member, classmethod | staticmethod):
                yield name, member.__func__
            elif inspect.isfunction(member):
                yield name, member


def constant_docstring(name: str) -> str:
    """The string literal right after ``NAME = ...`` where aiomsg assigns it."""
    for module_name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not module_name.startswith("aiomsg.") or path is None:
            continue
        body = ast.parse(Path(path).read_text(encoding="utf-8")).body
        for statement, following in zip(body, [*body[1:], None], strict=True):
            if isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            elif isinstance(statement, ast.Assign):
                targets = statement.targets
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                    return str(following.value.value).strip()
                return ""
    raise AssertionError(f"no module of aiomsg assigns {name}")


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for qualified, obj in public_names().items():
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not own_doc(obj):
                missing.append(qualified)
        else:
            if not constant_docstring(qualified.rsplit(".", 1)[1]):
                missing.append(qualified)
    assert not missing, f"public names without a docstring: {missing}"


def test_every_public_method_has_a_docstring() -> None:
    missing = [
        f"{qualified}.{name}"
        for qualified, obj in public_names().items()
        if inspect.isclass(obj)
        for name, member in public_members(obj)
        if not own_doc(member)
    ]
    assert not missing, f"public methods and properties without a docstring: {missing}"


def test_endpoint_docstrings_say_what_they_raise_and_return() -> None:
    """The calls users make most document their arguments, answer and errors."""
    endpoints = [
        *(getattr(ChatApps, n) for n in ("send_line_notification_batch", "send_line_notification")),
        *(getattr(ChatApps, n) for n in ("cancel_batch", "cancel_message", "delete_whatsapp_flow")),
        *(getattr(Sms, n) for n in ("cancel_batch", "cancel_message")),
        aiomsg.Revicom.stop_batch,
    ]
    incomplete = []
    for fn in endpoints:
        doc = inspect.getdoc(fn) or ""
        sections = set(re.findall(r"^(Args|Returns|Raises):$", doc, re.MULTILINE))
        if sections != {"Args", "Returns", "Raises"} - (
            {"Returns"} if inspect.signature(fn).return_annotation in (None, "None") else set()
        ):
            incomplete.append(f"{fn.__qualname__}: has {sorted(sections)}")
    assert not incomplete, incomplete


def test_bulk_docstrings_say_what_they_take_and_return() -> None:
    bulk = [
        ChatApps.send_line_notifications,
        ChatApps.stream_send_line_notifications,
        ChatApps.cancel_messages,
        ChatApps.stream_cancel_messages,
        aiomsg.Revicom.stop,
        aiomsg.Revicom.stream_stop,
    ]
    incomplete = [
        fn.__qualname__
        for fn in bulk
        if not {"Args", "Returns"} <= set(re.findall(r"^(\w+):$", inspect.getdoc(fn) or "", re.M))
    ]
    assert not incomplete, incomplete


def test_the_checks_catch_what_they_should() -> None:
    class Documented:
        """Here."""

        def method(self) -> None:
            """Here."""

    class Bare:
        def method(self) -> None:
            pass

    assert own_doc(Documented)
    assert not own_doc(Bare)
    import dataclasses

    assert not own_doc(dataclasses.make_dataclass("Auto", [("x", int)]))
    Bare.__module__ = "aiomsg.fake"
    assert [n for n, m in public_members(Bare) if not own_doc(m)] == ["method"]


def reference_targets() -> set[str]:
    found: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        found.update(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(encoding="utf-8"), re.M))
    return found


def reference_spellings(qualified: str, obj: Any) -> set[str]:
    """Where the reference may show ``obj``: its public path, or where it is defined.

    The second is for a name that shares its module's name (``aiomsg.receipts.reconcile``
    is a function and a module): mkdocstrings resolves the public path to the module.
    """
    spellings = {qualified}
    if inspect.isclass(obj) or inspect.isfunction(obj):
        spellings.add(f"{obj.__module__}.{obj.__qualname__}")
    return spellings


@pytest.mark.parametrize("qualified", sorted(public_names()))
def test_the_reference_shows_every_public_name(qualified: str) -> None:
    shown = reference_spellings(qualified, public_names()[qualified]) & reference_targets()
    assert shown, f"add '::: {qualified}' to a page in docs/reference/"


def test_a_name_shadowed_by_its_module_is_shown_where_it_is_defined() -> None:
    """``::: aiomsg.receipts.reconcile`` would render the module, not the function."""
    assert "aiomsg.receipts.reconcile.reconcile" in reference_targets()
    assert reference_spellings("aiomsg.receipts.reconcile", aiomsg.receipts.reconcile) == {
        "aiomsg.receipts.reconcile",
        "aiomsg.receipts.reconcile.reconcile",
    }
