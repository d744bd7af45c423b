"""(aiomsg) The library's public API, with everything it does per item: validation,
retries, limits, per-item outcomes and merged reports.

``aiomsg`` is imported lazily: if it, or a name used here, is missing, the run is
reported as unavailable instead of failing the whole benchmark.

8x8's client paces requests at 1,800 per second per sub-account by default (the
documented provider limit). The loopback server has no such limit and the baselines
do not pace, so the benchmark turns the pace off (keeping the concurrency cap) to
measure the client's cost rather than the pace.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from types import ModuleType
from typing import IO, Any

import anyio
import msgspec

from benchmarks import data
from benchmarks.common import Job, Runner, Spec, Unavailable


class ReportLine(msgspec.Struct):
    """One line of the W4 JSONL report: ``index``, ``id``, ``outcome``, ``code``, ``error``."""

    index: int
    id: str | None
    outcome: Any
    code: int | None
    error: str | None


def _import() -> ModuleType:
    try:
        import aiomsg
    except ImportError as exc:
        raise Unavailable(f"cannot import aiomsg ({exc})") from exc
    return aiomsg


def _require(obj: object, *names: str) -> Any:
    """``obj.a.b...``, or Unavailable naming what is missing."""
    owner = obj.__name__ if isinstance(obj, ModuleType) else f"aiomsg.{type(obj).__name__}"
    for name in names:
        try:
            obj = getattr(obj, name)
        except AttributeError as exc:
            raise Unavailable(f"{owner} has no {'.'.join(names)}") from exc
    return obj


def _count(counts: Mapping[Any, int], outcome: str) -> int:
    return sum(n for key, n in counts.items() if getattr(key, "value", key) == outcome)


def _check(report: Any, outcome: str, size: int) -> int:
    """The number of items with ``outcome``; fails loudly when counts do not add up."""
    counts: Mapping[Any, int] = report.counts
    total = sum(counts.values())
    wanted = _count(counts, outcome)
    if total != size or wanted != size:
        shown = {str(getattr(k, "value", k)): v for k, v in counts.items()}
        raise RuntimeError(f"BulkReport.counts {shown} for {size} items (wanted all {outcome!r})")
    return wanted


def _eight_by_eight(aiomsg: ModuleType, spec: Spec) -> Any:
    cls = _require(aiomsg, "EightByEight")
    options: dict[str, Any] = {}
    rate_limit = getattr(aiomsg, "RateLimit", None)
    if "paced" in spec.variant.split():
        pass  # the defaults: paced at 8x8's documented 1,800 requests per second
    elif rate_limit is not None and "rate_limit" in inspect.signature(cls).parameters:
        options["rate_limit"] = rate_limit(rate=None, concurrency=max(spec.concurrency, 100))
    return cls(api_key=data.API_KEY, chatapps_url=spec.url, sms_url=spec.url, **options)


def _revicom(aiomsg: ModuleType, spec: Spec) -> Any:
    return _require(aiomsg, "Revicom")(token=data.REVICOM_TOKEN, base_url=spec.url)


def _line_notifications(aiomsg: ModuleType, n: int) -> list[Any]:
    """The W1 messages as typed ``aiomsg.LineNotification`` objects (untimed)."""
    line = _require(aiomsg, "LineNotification")
    user = _require(aiomsg, "LineUser")
    content = _require(aiomsg, "LineContent")
    emphasis = _require(aiomsg, "LineEmphasis")
    item = _require(aiomsg, "LineListItem")
    action = _require(aiomsg, "LineAction")
    out = []
    for m in data.iter_line_messages(n):
        c = m["content"]
        out.append(
            line(
                user=user(**m["user"]),
                client_message_id=m["clientMessageId"],
                content=content(
                    title=c["title"],
                    company=c["company"],
                    icon=c["icon"],
                    emphasis=emphasis(**c["emphasis"]),
                    items=[item(**i) for i in c["list"]],
                    greeting=c["greeting"],
                    explanation=c["explanation"],
                    actions=[action(**a) for a in c["actions"]],
                ),
            )
        )
    return out


def _w1(aiomsg: ModuleType, spec: Spec) -> Job:
    messages = _line_notifications(aiomsg, spec.size)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _eight_by_eight(aiomsg, spec) as client:
            send = _require(client, "chatapps", "send_line_notifications")

            async def run() -> int:
                report = await send(
                    data.SUB_ACCOUNT,
                    messages,
                    include_messages_in_response=True,
                    concurrency=spec.concurrency,
                )
                return _check(report, "accepted", spec.size)

            yield run

    return job


def _w2(aiomsg: ModuleType, spec: Spec) -> Job:
    ids = data.uuids(spec.size)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _revicom(aiomsg, spec) as revicom:
            if spec.variant == "stream":
                stream_stop = _require(revicom, "stream_stop")

                async def run() -> int:
                    stopped = 0
                    async with stream_stop(ids, concurrency=spec.concurrency) as outcomes:
                        async for o in outcomes:
                            if o.outcome == "stopped":
                                stopped += 1
                    return stopped

            else:
                stop = _require(revicom, "stop")

                async def run() -> int:
                    report = await stop(ids, concurrency=spec.concurrency)
                    return _check(report, "stopped", spec.size)

            yield run

    return job


def _w3(aiomsg: ModuleType, spec: Spec) -> Job:
    umids = data.uuids(spec.size, seed=2)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _eight_by_eight(aiomsg, spec) as client:
            if "bulk" in spec.variant.split():
                cancel_messages = _require(client, "sms", "cancel_messages")

                async def run() -> int:
                    report = await cancel_messages(
                        data.SUB_ACCOUNT, umids, concurrency=spec.concurrency
                    )
                    return _check(report, "cancelled", spec.size)

            else:
                cancel_message = _require(client, "sms", "cancel_message")

                async def run() -> int:
                    # a bounded task group: `concurrency` workers share one iterator
                    it = iter(umids)
                    cancelled = 0

                    async def worker() -> None:
                        nonlocal cancelled
                        for umid in it:
                            result = await cancel_message(data.SUB_ACCOUNT, umid)
                            cancelled += result.cancelled_count

                    async with anyio.create_task_group() as tg:
                        for _ in range(spec.concurrency):
                            tg.start_soon(worker)
                    return cancelled

            yield run

    return job


def _w5(aiomsg: ModuleType, spec: Spec) -> Job:
    """Bulk SMS cancels against a provider that limits the sub-account: the client
    either told the provider's rate or left at its defaults."""
    umids = data.uuids(spec.size, seed=5)
    options: dict[str, Any] = {}
    if "told" in spec.variant.split():
        if spec.limit is None:
            raise Unavailable("W5 told needs --limit")
        # The sub-account's true rate, with the default limit's burst and concurrency.
        rate_limit = _require(aiomsg, "RateLimit")
        options["rate_limit"] = rate_limit(rate=spec.limit, burst=100, concurrency=100)

    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        async with _require(aiomsg, "EightByEight")(
            api_key=data.API_KEY, chatapps_url=spec.url, sms_url=spec.url, **options
        ) as client:
            cancel_messages = _require(client, "sms", "cancel_messages")

            async def run() -> int:
                report = await cancel_messages(
                    spec.sub_account, umids, concurrency=spec.concurrency
                )
                return _check(report, "cancelled", spec.size)

            yield run

    return job


def _open_files(spec: Spec) -> tuple[IO[str], IO[bytes]]:
    if spec.uuid_file is None or spec.report_file is None:
        raise Unavailable("W4 needs --uuid-file and --report-file")
    source = open(spec.uuid_file, encoding="ascii")  # closed by the job
    try:
        report = open(spec.report_file, "wb", buffering=1 << 20)
    except BaseException:
        source.close()
        raise
    return source, report


def _w4(aiomsg: ModuleType, spec: Spec) -> Job:
    @asynccontextmanager
    async def job() -> AsyncIterator[Runner]:
        source, report = _open_files(spec)
        try:
            async with _revicom(aiomsg, spec) as revicom:
                stream_stop = _require(revicom, "stream_stop")
                ids: Iterator[str] = (line.rstrip("\n") for line in source)
                encoder = msgspec.json.Encoder()

                async def run() -> int:
                    stopped = 0
                    async with stream_stop(ids, concurrency=spec.concurrency) as outcomes:
                        async for o in outcomes:
                            if o.outcome == "stopped":
                                stopped += 1
                            error = o.error
                            line = ReportLine(
                                index=o.index,
                                id=o.id,
                                outcome=o.outcome,
                                code=o.code,
                                error=None if error is None else f"{type(error).__name__}: {error}",
                            )
                            report.write(encoder.encode(line) + b"\n")
                    report.flush()
                    return stopped

                yield run
        finally:
            source.close()
            report.close()

    return job


def prepare(spec: Spec) -> Job:
    aiomsg = _import()
    builders = {"W1": _w1, "W2": _w2, "W3": _w3, "W4": _w4, "W5": _w5}
    if spec.workload not in builders:
        raise Unavailable(f"unknown workload {spec.workload}")
    try:
        return builders[spec.workload](aiomsg, spec)
    except TypeError as exc:
        raise Unavailable(f"aiomsg API mismatch: {exc}") from exc
