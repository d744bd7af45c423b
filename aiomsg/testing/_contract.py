"""The providers' published request contract, as data, and a small validator for it.

``contract.json`` holds the constraint keywords of 8x8's OpenAPI request schemas for
the routes the simulator serves (``published``), Revicom's stop page (``seeded``),
and what the providers' pages and answers add to them (``amendments``). The
simulator judges requests by this alone, never by the client's own validation, so
that a rule the client gets wrong shows up in tests against the simulator.

The validator knows the keywords the contract uses and nothing more; loading a
contract with any other keyword fails, so a new rule cannot be silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

__all__ = ["KEYWORDS", "RouteContract", "Violation", "check", "contract", "is_uuid", "load"]

#: Every keyword the validator understands.
KEYWORDS: Final = frozenset(
    {"type", "required", "anyOf", "properties", "items", "enum", "format", "pattern",
     "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum"}
)  # fmt: skip

_UUID: Final = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
# RFC 3986 absolute URI: a scheme, a colon, then no whitespace or control characters.
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+")
_FORMATS: Final = {"uuid": _UUID, "uri": _URI}
_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}

Schema = Mapping[str, Any]
Path = tuple["str | int", ...]


@dataclass(frozen=True, slots=True)
class Violation:
    """The first rule a value breaks: where (``path``), which keyword, and how."""

    path: Path
    keyword: str
    detail: str

    @property
    def field(self) -> str:
        """``messages[3].user.msisdn``; empty for the value itself."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    @property
    def rule(self) -> str:
        """The field with its array positions left out (``messages[].user.msisdn``)."""
        return re.sub(r"\[\d+\]", "[]", self.field)


@dataclass(frozen=True, slots=True)
class RouteContract:
    """What one route accepts: its path parameters (by their names in the contract)
    and its JSON body (None: the route takes none)."""

    path: Mapping[str, Schema]
    body: Schema | None


def is_uuid(value: object) -> bool:
    """Whether ``value`` is a textual uuid (the contract's ``uuid`` format)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def _is(value: object, type_name: str) -> bool:
    if isinstance(value, bool) and type_name != "boolean":
        return False
    return isinstance(value, _TYPES[type_name])


def _describe(value: object) -> str:
    for name, types in _TYPES.items():
        if isinstance(value, types) and not (isinstance(value, bool) and name != "boolean"):
            return name
    return "null" if value is None else type(value).__name__


def _pattern(pattern: str) -> re.Pattern[str]:
    # ECMA-262 ``$`` is the end of the text; Python's also matches before a final newline.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def check(schema: Schema, value: Any, path: Path = ()) -> Violation | None:
    """The first rule of ``schema`` that ``value`` breaks, or None.

    Order: the type, then an object's required members, alternatives and members
    (in the schema's order), an array's size and items, a string's length, pattern,
    format and allowed values, a number's bounds.
    """
    type_name = schema.get("type")
    if type_name is not None and not _is(value, type_name):
        return Violation(path, "type", f"must be {type_name}, not {_describe(value)}")
    found: Violation | None = None
    if isinstance(value, dict):
        found = _check_object(schema, value, path)
    elif isinstance(value, list):
        found = _check_array(schema, value, path)
    elif isinstance(value, str):
        found = _check_string(schema, value, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found = _check_number(schema, value, path)
    return found if found is not None else _check_enum(schema, value, path)


def _check_number(schema: Schema, value: float, path: Path) -> Violation | None:
    if "minimum" in schema and value < schema["minimum"]:
        return Violation(path, "minimum", f"must be at least {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        return Violation(path, "maximum", f"must be at most {schema['maximum']}")
    return None


def _check_object(schema: Schema, value: dict[str, Any], path: Path) -> Violation | None:
    for name in schema.get("required", ()):
        if name not in value:
            return Violation((*path, name), "required", "is required")
    alternatives = schema.get("anyOf")
    if alternatives and all(check(alt, value, path) is not None for alt in alternatives):
        names = " or ".join(n for alt in alternatives for n in alt.get("required", ()))
        return Violation(path, "anyOf", f"needs {names}")
    for name, sub in schema.get("properties", {}).items():
        if name in value:
            found = check(sub, value[name], (*path, name))
            if found is not None:
                return found
    return None


def _check_array(schema: Schema, value: list[Any], path: Path) -> Violation | None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        return Violation(path, "minItems", f"has {len(value)} items, at least {schema['minItems']}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return Violation(path, "maxItems", f"has {len(value)} items, at most {schema['maxItems']}")
    items = schema.get("items")
    if items is not None:
        for i, item in enumerate(value):
            found = check(items, item, (*path, i))
            if found is not None:
                return found
    return None


def _check_string(schema: Schema, value: str, path: Path) -> Violation | None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        return Violation(path, "minLength", f"is shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return Violation(path, "maxLength", f"is longer than {schema['maxLength']} characters")
    if "pattern" in schema and _pattern(schema["pattern"]).search(value) is None:
        return Violation(path, "pattern", f"does not match {schema['pattern']}")
    form = schema.get("format")
    if form is not None and _FORMATS[form].fullmatch(value) is None:
        return Violation(path, "format", f"is not a {form}")
    return None


def _check_enum(schema: Schema, value: Any, path: Path) -> Violation | None:
    allowed = schema.get("enum")
    if allowed is not None and not (isinstance(value, str) and value in allowed):
        return Violation(path, "enum", "is not one of the allowed values")
    return None


# ---------------------------------------------------------------------------- loading


def load(data: Mapping[str, Any]) -> dict[str, RouteContract]:
    """Each route's contract: the published or seeded one, with the amendments applied."""
    routes: dict[str, dict[str, Any]] = {
        name: json.loads(json.dumps(entry))  # a deep copy the amendments may change
        for part in ("published", "seeded")
        for name, entry in data[part].items()
    }
    for amendment in data["amendments"]:
        target = _locate(routes[amendment["route"]], amendment["at"])
        target.update(amendment.get("set", {}))
        for keyword in amendment.get("unset", ()):
            del target[keyword]
    out = {}
    for name, entry in routes.items():
        for schema in (*entry["path"].values(), entry.get("body", {})):
            _check_keywords(schema, name)
        out[name] = RouteContract(entry["path"], entry.get("body"))
    return out


def _locate(entry: dict[str, Any], at: list[str]) -> dict[str, Any]:
    where, *rest = at
    node: dict[str, Any] = entry["path"] if where == "path" else entry["body"]
    if where == "path":
        node = node[rest.pop(0)]
    for step in rest:
        node = node["items"] if step == "[]" else node["properties"][step]
    return node


def _check_keywords(schema: Schema, route: str) -> None:
    unknown = sorted(set(schema) - KEYWORDS)
    form = schema.get("format")
    if form is not None and form not in _FORMATS:
        unknown.append(f"format {form}")
    if unknown:
        raise ValueError(f"contract of {route}: the validator does not know {unknown}")
    for sub in schema.get("properties", {}).values():
        _check_keywords(sub, route)
    for sub in (schema.get("items"), *schema.get("anyOf", ())):
        if sub is not None:
            _check_keywords(sub, route)


@cache
def contract() -> dict[str, RouteContract]:
    """The contract shipped with aiomsg (``contract.json``), read once."""
    text = resources.files(__package__).joinpath("contract.json").read_text(encoding="utf-8")
    return load(json.loads(text))
