"""Which endpoint a request is for: the providers' own route declarations, matched
segment by segment on the raw path, and the names tests use for them."""

from __future__ import annotations

import fnmatch
from typing import Final, Protocol
from urllib.parse import unquote

from ..eightxeight import routes as eightxeight_routes
from ..revicom import routes as revicom_routes

__all__ = ["API_NAMES", "ROUTES", "SERVED", "ServedRoute", "match_routes", "resolve"]


class ServedRoute(Protocol):
    """What the simulator reads of a provider's route."""

    @property
    def method(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def api(self) -> str: ...
    @property
    def full_name(self) -> str: ...


#: Every route the simulator serves, as the clients declare it.
SERVED: Final[tuple[ServedRoute, ...]] = (*eightxeight_routes.ROUTES, *revicom_routes.ROUTES)

ROUTES: Final[tuple[str, ...]] = tuple(route.full_name for route in SERVED)
"""Every endpoint the simulator serves, by name (``<api>.<operation>``): the names
``Simulator.inject(route=...)`` and ``Simulator.requests_for`` take."""
API_NAMES: Final[tuple[str, ...]] = (*eightxeight_routes.APIS, revicom_routes.API)

# Each route's full path as segments, the API's prefix first: ("sms", "api", ..., "{umid}").
_SEGMENTS: Final = tuple(
    (route, (route.api, *route.template.strip("/").split("/"))) for route in SERVED
)


def match_routes(pattern: str) -> tuple[str, ...]:
    """Route names matched by ``pattern``: a name, an API name, or a glob (``sms.*``)."""
    if pattern in API_NAMES:
        pattern = f"{pattern}.*"
    return tuple(name for name in ROUTES if fnmatch.fnmatchcase(name, pattern))


def resolve(method: str, raw_path: str) -> tuple[ServedRoute, dict[str, str]] | None:
    """The route a request goes to and its decoded path parameters, or None.

    Each segment is percent-decoded on its own, after splitting on ``/``: an
    encoded ``%2F`` stays inside its segment, as 8x8's servers read it.
    """
    try:
        segments = [unquote(seg, errors="strict") for seg in raw_path.split("/")[1:]]
    except UnicodeDecodeError:
        return None  # no id the client sends decodes to anything but UTF-8
    for route, template in _SEGMENTS:
        if route.method != method or len(template) != len(segments):
            continue
        found: dict[str, str] = {}
        for pattern, value in zip(template, segments, strict=True):
            if pattern.startswith("{"):
                found[pattern[1:-1]] = value
            elif pattern != value:
                break
        else:
            return route, found
    return None
