"""(L) The floor: raw aiohttp, bodies pre-encoded before timing, responses read, not decoded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import islice

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


def _session(spec: Spec, authorization: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=spec.concurrency),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
        timeout=aiohttp.ClientTimeout(total=300),
    )


def _post_job(spec: Spec, url: URL, bodies: list[tuple[bytes, int]], authorization: str) -> Job:
    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _session(spec, authorization) as session:

            async def post(item: tuple[bytes, int]) -> int:
                body, count = item
                async with session.post(url, data=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                return count

            async def run() -> int:
                return await bounded(bodies, spec.concurrency, post)

            yield run

    return job


def _cancel_job(spec: Spec, urls: list[URL]) -> Job:
    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _session(spec, f"Bearer {data.API_KEY}") as session:

            async def cancel(url: URL) -> int:
                async with session.delete(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                return 1

            async def run() -> int:
                return await bounded(urls, spec.concurrency, cancel)

            yield run

    return job


def prepare(spec: Spec) -> Job:
    base = URL(spec.url)
    encode = msgspec.json.encode
    if spec.workload == "W1":
        url = base.with_path(LINE_BATCH_PATH.format(sub=data.SUB_ACCOUNT))
        messages = data.iter_line_messages(spec.size)
        bodies = []
        while batch := list(islice(messages, spec.per_request)):
            bodies.append(
                (encode({"messages": batch, "includeMessagesInResponse": True}), len(batch))
            )
        return _post_job(spec, url, bodies, f"Bearer {data.API_KEY}")
    if spec.workload == "W2":
        url = base.with_path(REVICOM_STOP_PATH)
        bodies = [
            (encode({"uuids": c}), len(c)) for c in chunks(data.uuids(spec.size), spec.per_request)
        ]
        return _post_job(spec, url, bodies, f"Basic {data.REVICOM_TOKEN}")
    if spec.workload == "W3":
        urls = [
            URL(spec.url + SMS_CANCEL_PATH.format(sub=data.SUB_ACCOUNT, umid=u), encoded=True)
            for u in data.uuids(spec.size, seed=2)
        ]
        return _cancel_job(spec, urls)
    raise Unavailable(f"{spec.workload} is measured for aiomsg only")
