"""Deterministic benchmark inputs, generated before any timing starts.

Every implementation receives the same items: LINE messages in the API's camelCase JSON
shape (each implementation converts them to its own types, untimed) and uuid strings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

SUB_ACCOUNT: Final = "bench-sub"
API_KEY: Final = "bench-api-key"
REVICOM_TOKEN: Final = "YmVuY2g6YmVuY2g="


def _uuid_prefix(seed: int) -> str:
    """First 24 characters of a version-4 uuid; the last 12 hex digits are a counter."""
    bits = random.Random(seed).getrandbits(72)
    h = f"{bits:018x}"
    return f"{h[0:8]}-{h[8:12]}-4{h[12:15]}-a{h[15:18]}-"


def iter_uuids(n: int, seed: int = 1) -> Iterator[str]:
    """``n`` distinct, well-formed, lower-case uuid strings."""
    prefix = _uuid_prefix(seed)
    return (f"{prefix}{i:012x}" for i in range(n))


def uuids(n: int, seed: int = 1) -> list[str]:
    return list(iter_uuids(n, seed))


def write_uuid_file(path: Path, n: int, seed: int = 3) -> None:
    """One uuid per line; written in blocks so memory stays flat for tens of millions."""
    prefix = _uuid_prefix(seed)
    block = 100_000
    with path.open("w", encoding="ascii") as f:
        for start in range(0, n, block):
            stop = min(start + block, n)
            f.write("".join(f"{prefix}{i:012x}\n" for i in range(start, stop)))


def line_message(i: int) -> dict[str, Any]:
    """A realistic LINE Notification message (delivery update) in wire shape."""
    order = f"A{i:07d}"
    return {
        "user": {"msisdn": f"+659{i % 10_000_000:07d}"},
        "clientMessageId": f"bench-{i:08d}",
        "content": {
            "title": "Delivery update",
            "company": "AcmeShop",
            "icon": "boxCheck",
            "emphasis": {"label": "Order", "content": f"#{order}"},
            "list": [
                {"label": "Delivery date", "content": "Tue 26/09/2023"},
                {"label": "Items", "content": f"{i % 7 + 1} parcel(s)"},
            ],
            "greeting": "Thank you for shopping with AcmeShop!",
            "explanation": (
                "Your order has been packed and will be handed to the courier today. "
                "You can follow the delivery from the link below."
            ),
            "actions": [{"title": "Track order", "url": f"https://shop.example.com/t/{order}"}],
        },
    }


def iter_line_messages(n: int) -> Iterator[dict[str, Any]]:
    """Generated one at a time, so converting them does not hold two copies in memory."""
    return (line_message(i) for i in range(n))
