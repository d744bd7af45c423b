"""(H) What a user would otherwise write: ``httpx.AsyncClient`` + pydantic v2 models.

Requests go out as ``json=model.model_dump(...)``; responses come back through
``Model.model_validate(response.json())``. Ids stay ``str``, as in (MS), so the difference
is the stack rather than the field types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

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


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- request models -------------------------------------------------------------------


class User(Model):
    msisdn: str | None = None
    country: str | None = None


class Labelled(Model):
    label: str
    content: str


class Action(Model):
    title: str
    url: str


class Content(Model):
    title: str | None = None
    company: str | None = None
    icon: str | None = None
    emphasis: Labelled | None = None
    items: list[Labelled] | None = Field(default=None, alias="list")
    greeting: str | None = None
    explanation: str | None = None
    actions: list[Action] | None = None


class LineMessage(Model):
    user: User
    client_message_id: str | None = None
    content: Content


class LineBatch(Model):
    messages: list[LineMessage]
    client_batch_id: str | None = None
    include_messages_in_response: bool = False


class StopRequest(Model):
    uuids: list[str]


# --- response models ------------------------------------------------------------------


class Status(Model):
    state: str | None = None
    detail: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    timestamp: str | None = None


class MessageResult(Model):
    umid: str
    user: User
    client_message_id: str | None = None
    status: Status


class LineBatchResult(Model):
    batch_id: str
    client_batch_id: str | None = None
    accepted_count: int
    rejected_count: int
    messages: list[MessageResult] = Field(default_factory=list)


class StopItem(Model):
    message_uuid: str
    code: int


class StopResult(Model):
    errors: bool
    items: list[StopItem]


class CancelResult(Model):
    cancelled_count: int


# --- jobs -----------------------------------------------------------------------------


def _client(spec: Spec, authorization: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=spec.url,
        headers={"Authorization": authorization},
        limits=httpx.Limits(
            max_connections=spec.concurrency, max_keepalive_connections=spec.concurrency
        ),
        timeout=300,
        trust_env=False,  # loopback only: never route through a proxy from the environment
    )


def _line_job(spec: Spec, messages: list[LineMessage]) -> Job:
    path = LINE_BATCH_PATH.format(sub=data.SUB_ACCOUNT)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _client(spec, f"Bearer {data.API_KEY}") as client:

            async def send(batch: list[LineMessage]) -> int:
                request = LineBatch(messages=batch, include_messages_in_response=True)
                payload = request.model_dump(by_alias=True, exclude_none=True)
                response = await client.post(path, json=payload)
                response.raise_for_status()
                return len(LineBatchResult.model_validate(response.json()).messages)

            async def run() -> int:
                return await bounded(chunks(messages, spec.per_request), spec.concurrency, send)

            yield run

    return job


def _stop_job(spec: Spec, ids: list[str]) -> Job:
    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _client(spec, f"Basic {data.REVICOM_TOKEN}") as client:

            async def stop(batch: list[str]) -> int:
                payload = StopRequest(uuids=batch).model_dump()
                response = await client.post(REVICOM_STOP_PATH, json=payload)
                response.raise_for_status()
                return len(StopResult.model_validate(response.json()).items)

            async def run() -> int:
                return await bounded(chunks(ids, spec.per_request), spec.concurrency, stop)

            yield run

    return job


def _cancel_job(spec: Spec, umids: list[str]) -> Job:
    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _client(spec, f"Bearer {data.API_KEY}") as client:

            async def cancel(umid: str) -> int:
                path = SMS_CANCEL_PATH.format(sub=data.SUB_ACCOUNT, umid=umid)
                response = await client.delete(path)
                response.raise_for_status()
                return CancelResult.model_validate(response.json()).cancelled_count

            async def run() -> int:
                return await bounded(umids, spec.concurrency, cancel)

            yield run

    return job


def prepare(spec: Spec) -> Job:
    if spec.workload == "W1":
        messages = [LineMessage.model_validate(m) for m in data.iter_line_messages(spec.size)]
        return _line_job(spec, messages)
    if spec.workload == "W2":
        return _stop_job(spec, data.uuids(spec.size))
    if spec.workload == "W3":
        return _cancel_job(spec, data.uuids(spec.size, seed=2))
    raise Unavailable(f"{spec.workload} is measured for aiomsg only")
