"""Reads the request constraints of the simulator's routes out of 8x8's OpenAPI files.

``aiomsg/testing/contract.json`` ships what this extracts (its ``published`` part);
``test_contract.py`` checks the two still agree when the published files are at hand.
To regenerate after 8x8 publishes new files::

    python -m tests.testing.contract_source ../shared/reference/8x8 > published.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

#: JSON Schema keywords that constrain a value; everything else (descriptions,
#: examples, titles, defaults) is the vendor's prose and stays out.
CONSTRAINTS = frozenset(
    {"type", "required", "properties", "items", "enum", "format", "pattern",
     "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum"}
)  # fmt: skip

#: Where each route's request is described: (file, method, path).
SOURCES = {
    "chatapps.send_line_notification_batch": (
        "business_messaging_api.json", "post", "/api/v1/subaccounts/{subAccountId}/lon/batch"),
    "chatapps.send_line_notification": (
        "business_messaging_api.json", "post", "/api/v1/subaccounts/{subAccountId}/lon"),
    "chatapps.cancel_batch": (
        "business_messaging_api.json", "delete",
        "/api/v1/subaccounts/{subAccountId}/messages/batch/{batchId}"),
    "chatapps.cancel_message": (
        "business_messaging_api.json", "delete",
        "/api/v1/subaccounts/{subAccountId}/messages/{umid}"),
    "chatapps.delete_whatsapp_flow": (
        "business_messaging_api.json", "delete",
        "/api/v1/accounts/{accountId}/channels/{channelId}/flows/{flowId}"),
    "chatapps.set_webhooks": (
        "business_messaging_api.json", "post", "/api/v1/accounts/{accountId}/webhooks"),
    "chatapps.get_webhooks": (
        "business_messaging_api.json", "get", "/api/v1/accounts/{accountId}/webhooks"),
    "chatapps.delete_webhooks": (
        "business_messaging_api.json", "delete", "/api/v1/accounts/{accountId}/webhooks"),
    "chatapps.get_message": (
        "business_messaging_api.json", "get",
        "/api/v1/subaccounts/{subAccountId}/messages/{umid}"),
    "sms.cancel_message": (
        "sms_api.json", "delete", "/api/v1/subaccounts/{subAccountId}/messages/{umid}"),
    "sms.cancel_batch": (
        "sms_api.json", "delete", "/api/v1/subaccounts/{subAccountId}/messages/batch/{batchId}"),
}  # fmt: skip


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            key = unquote(part).replace("~1", "/").replace("~0", "~")
            target = target[int(key)] if isinstance(target, list) else target[key]
        node = target
    return node


def constraints(doc: dict[str, Any], schema: Any) -> dict[str, Any]:
    """``schema`` with its references resolved and only its constraint keywords."""
    schema = _resolve(doc, schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in CONSTRAINTS:
            continue
        if key == "properties":
            value = {name: constraints(doc, sub) for name, sub in value.items()}
        elif key == "items":
            value = constraints(doc, value)
        out[key] = value
    return out


def extract(folder: Path) -> dict[str, Any]:
    """The ``published`` part of the contract, read from 8x8's OpenAPI files in ``folder``."""
    docs: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for route, (file, method, path) in SOURCES.items():
        doc = docs.get(file)
        if doc is None:
            doc = docs[file] = json.loads((folder / file).read_text(encoding="utf-8"))
        item = doc["paths"][path]
        operation = item[method]
        params = {}
        for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
            param = _resolve(doc, param)
            if param["in"] == "path":
                params[param["name"]] = constraints(doc, param["schema"])
        entry: dict[str, Any] = {"source": [file, method.upper(), path], "path": params}
        body = operation.get("requestBody")
        if body is not None:
            schema = _resolve(doc, body)["content"]["application/json"]["schema"]
            entry["body"] = constraints(doc, schema)
        out[route] = entry
    return out


if __name__ == "__main__":
    json.dump(extract(Path(sys.argv[1])), sys.stdout, indent=1)
