"""(MS) Minimal aiohttp + msgspec client: Structs both ways, ids as ``str``.

No validation, retries or per-item accounting: what is left is encode, send, decode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import msgspec
from yarl import URL

from benchmarks import data
from benchmarks.common import (
    LINE_BATCH_PATH,
    REVICOM_STOP_PATH,
    SMS_CANCEL_PATH,
    Job,
    Runner,
    Spec,
    Unavailable,
    bounded,
    chunks,
)

# --- request models -------------------------------------------------------------------


class User(msgspec.Struct, omit_defaults=True):
    msisdn: str | None = None
    country: str | None = None


class Labelled(msgspec.Struct):
    label: str
    content: str


class Action(msgspec.Struct):
    title: str
    url: str


class Content(msgspec.Struct, omit_defaults=True):
    title: str | None = None
    company: str | None = None
    icon: str | None = None
    emphasis: Labelled | None = None
    items: list[Labelled] | None = msgspec.field(default=None, name="list")
    greeting: str | None = None
    explanation: str | None = None
    actions: list[Action] | None = None


class LineMessage(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    user: User
    client_message_id: str | None = None
    content: Content


class LineBatch(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    messages: list[LineMessage]
    client_batch_id: str | None = None
    include_messages_in_response: bool = False


class StopRequest(msgspec.Struct):
    uuids: list[str]


# --- response models ------------------------------------------------------------------


class Status(msgspec.Struct, rename="camel"):
    state: str | None = None
    detail: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    timestamp: str | None = None


class MessageResult(msgspec.Struct, rename="camel", kw_only=True):
    umid: str
    user: User
    client_message_id: str | None = None
    status: Status


class LineBatchResult(msgspec.Struct, rename="camel", kw_only=True):
    batch_id: str
    client_batch_id: str | None = None
    accepted_count: int
    rejected_count: int
    messages: list[MessageResult] = msgspec.field(default_factory=list)


class StopItem(msgspec.Struct, rename="camel"):
    message_uuid: str
    code: int


class StopResult(msgspec.Struct):
    errors: bool
    items: list[StopItem]


class CancelResult(msgspec.Struct, rename="camel"):
    cancelled_count: int


# --- jobs -----------------------------------------------------------------------------


def _session(spec: Spec, authorization: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=spec.concurrency),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        timeout=aiohttp.ClientTimeout(total=300),
    )


def _line_job(spec: Spec, messages: list[LineMessage]) -> Job:
    url = URL(spec.url).with_path(LINE_BATCH_PATH.format(sub=data.SUB_ACCOUNT))
    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder(LineBatchResult)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _session(spec, f"Bearer {data.API_KEY}") as session:

            async def send(batch: list[LineMessage]) -> int:
                body = encoder.encode(LineBatch(messages=batch, include_messages_in_response=True))
                async with session.post(url, data=body) as resp:
                    raw = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                return len(decoder.decode(raw).messages)

            async def run() -> int:
                return await bounded(chunks(messages, spec.per_request), spec.concurrency, send)

            yield run

    return job


def _stop_job(spec: Spec, ids: list[str]) -> Job:
    url = URL(spec.url).with_path(REVICOM_STOP_PATH)
    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder(StopResult)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _session(spec, f"Basic {data.REVICOM_TOKEN}") as session:

            async def stop(batch: list[str]) -> int:
                async with session.post(url, data=encoder.encode(StopRequest(batch))) as resp:
                    raw = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                return len(decoder.decode(raw).items)

            async def run() -> int:
                return await bounded(chunks(ids, spec.per_request), spec.concurrency, stop)

            yield run

    return job


def _cancel_job(spec: Spec, umids: list[str]) -> Job:
    decoder = msgspec.json.Decoder(CancelResult)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _session(spec, f"Bearer {data.API_KEY}") as session:

            async def cancel(umid: str) -> int:
                path = SMS_CANCEL_PATH.format(sub=data.SUB_ACCOUNT, umid=umid)
                async with session.delete(spec.url + path) as resp:
                    raw = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                return decoder.decode(raw).cancelled_count

            async def run() -> int:
                return await bounded(umids, spec.concurrency, cancel)

            yield run

    return job


def prepare(spec: Spec) -> Job:
    if spec.workload == "W1":
        messages = [msgspec.convert(m, LineMessage) for m in data.iter_line_messages(spec.size)]
        return _line_job(spec, messages)
    if spec.workload == "W2":
        return _stop_job(spec, data.uuids(spec.size))
    if spec.workload == "W3":
        return _cancel_job(spec, data.uuids(spec.size, seed=2))
    raise Unavailable(f"{spec.workload} is measured for aiomsg only")
