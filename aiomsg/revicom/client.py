"""The Revicom client: stop messages by uuid."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final

import aiohttp
import msgspec

from .._client import BaseClient, BaseUrl, Credential
from .._codec import encode
from .._core import RequestEvent
from .._errors import APIResponseError, MissingFromAnswerError, ValidationError
from .._limits import DEFAULT_REVICOM_RATE_LIMIT, RateLimit
from .._retry import RetryBudget, RetryPolicy
from .._transport import DEFAULT_CONNECTOR_LIMIT, DEFAULT_MAX_RESPONSE_SIZE, Timeout
from .._validation import (
    MAX_READ_PER_REQUEST,
    check_count,
    check_flag,
    check_uuid,
    join_uuids,
    read_list,
)
from ..bulk import BulkOptions, BulkReport, Outcome, OutcomeStream
from ..bulk._calls import (
    Answer,
    ItemsInput,
    Ready,
    Request,
    Requests,
    bulk_stream,
    check_items,
    collect,
    uuid_checks,
)
from .models import MAX_STOP_BATCH, StopCode, StopItem, StopRequest, StopResult, _AllStopped
from .routes import STOP

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["DEFAULT_REVICOM_URL", "ENV_TOKEN", "ENV_URL", "Revicom"]

#: The API's host when neither ``base_url=`` nor ``$AIOMSG_REVICOM_URL`` is given.
DEFAULT_REVICOM_URL: Final = "https://direct.revicom.ltd"
#: The environment variable read when ``token=`` is not given.
ENV_TOKEN: Final = "AIOMSG_REVICOM_TOKEN"
#: The environment variable read when ``base_url=`` is not given.
ENV_URL: Final = "AIOMSG_REVICOM_URL"

_TOKEN: Final = Credential(arg="token", env=ENV_TOKEN, what="Revicom token", scheme="Basic")
_BASE_URL: Final = BaseUrl(arg="base_url", env=ENV_URL)

_CODE_OUTCOMES: Final = {
    StopCode.STOPPED: Outcome.STOPPED,
    StopCode.MAYBE_STOPPED: Outcome.MAYBE_STOPPED,
    StopCode.NOT_STOPPABLE: Outcome.NOT_STOPPABLE,
    StopCode.NOT_FOUND: Outcome.NOT_FOUND,
}
_MISSING: Final = MissingFromAnswerError("Revicom's answer did not mention this uuid")
# The stop request's body around its uuids, as msgspec encodes StopRequest.
_BODY_HEAD: Final = '{"uuids":['
_BODY_TAIL: Final = "]}"


class Revicom(BaseClient):
    """Client for Revicom's message-stop API.

    ``token`` (else ``$AIOMSG_REVICOM_TOKEN``) is sent as ``Authorization: Basic
    {token}``; ``base_url`` (else ``$AIOMSG_REVICOM_URL``) overrides the host.
    Open it with ``async with aiomsg.Revicom() as revicom:`` (or call ``aclose()``).
    Besides the arguments below it takes the options every client shares
    (timeouts, retries, TLS, session, connection and size limits, request hooks),
    described with the client options.

    Args:
        token: The Basic token (else ``$AIOMSG_REVICOM_TOKEN``).
        base_url: The API's base URL (else ``$AIOMSG_REVICOM_URL``, else
            ``https://direct.revicom.ltd``).
        rate_limit: Pace and concurrency of stop requests, shared by every call
            (default: unpaced, 32 in flight).

    Raises:
        ConfigurationError: A credential or base URL is missing or unusable, or
            an option is out of range.

    Example:
        ``async with aiomsg.Revicom() as revicom: await revicom.stop(uuids)``
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        ssl: ssl.SSLContext | None = None,
        min_tls_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        session: aiohttp.ClientSession | None = None,
        rate_limit: RateLimit = DEFAULT_REVICOM_RATE_LIMIT,
        connector_limit: int = DEFAULT_CONNECTOR_LIMIT,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        on_request: Callable[[RequestEvent], None] | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        super().__init__(
            credential=_TOKEN, secret=token, rate_limits={"rate_limit": rate_limit},
            timeout=timeout, retry=retry, retry_budget=retry_budget, ssl=ssl,
            min_tls_version=min_tls_version, session=session, connector_limit=connector_limit,
            max_response_size=max_response_size, on_request=on_request,
            trace_configs=trace_configs,
        )  # fmt: skip
        self._api = self._requester(_BASE_URL.resolve(base_url, DEFAULT_REVICOM_URL))
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"Revicom({self._api.host!r})"

    async def stop_batch(self, uuids: Iterable[str]) -> StopResult:
        """Stop up to 10,000 messages in one request; duplicates are sent once.

        ``POST /api/v1/message/stop``. Stopping a cascade's root stops the cascade;
        the change takes a few seconds to show in message states. The answer is
        checked against the uuids sent (see ``StopResult``).

        Args:
            uuids: 1 to 10,000 message uuids (a list or any iterable; not one string);
                reading stops with a ``ValidationError`` past 100,000 items.

        Returns:
            One ``StopItem`` per distinct uuid answered, with its code (``StopCode``:
            200 stopped, 202 maybe stopped, 403 not stoppable, 404 not found; newer
            codes are kept as they arrive); ``extra_items``, answers about uuids never
            asked; ``missing``, uuids asked that the answer left out; and ``errors``,
            Revicom's flag that some item could not be stopped.

        Raises:
            ValidationError: A uuid is malformed or there are more than 10,000;
                nothing was sent.
            AuthenticationError: The token was refused.
            APIStatusError: Another refusal (a subclass per status).
            APIResponseError: The answer gave one uuid two different codes.
            APIConnectionError: No answer after the retries (safe to call again).

        Example:
            ``codes = {i.message_uuid: i.code for i in (await revicom.stop_batch(uuids)).items}``
        """
        check_items(uuids, "uuids")
        if not isinstance(uuids, Iterable):
            raise ValidationError(
                "uuids", "is an async iterable", "an iterable of uuids (stop takes async ones)"
            )
        items = read_list("uuids", uuids, MAX_READ_PER_REQUEST * MAX_STOP_BATCH)
        if join_uuids(items) is None or set(map(type, items)) != _PLAIN:
            # The slow path: name the bad item, or take a str subclass's plain value
            # (its own hash and equality could hide a duplicate).
            items = [check_uuid(value, f"uuids[{i}]") for i, value in enumerate(items)]
        unique = list(dict.fromkeys(items))
        check_count("uuids", len(unique), 1, MAX_STOP_BATCH)
        return self._checked_answer(unique, await self._stop_prepared(unique))

    def _checked_answer(self, asked: list[str], result: StopResult) -> StopResult:
        """``result`` checked against the uuids ``asked``: answers for uuids never asked
        go to ``extra_items``, uuids it does not mention to ``missing``; one uuid given
        two different codes cannot be right and raises ``APIResponseError``."""
        items = result.items
        if result.extra_items or result.missing:  # not wire fields: never trust them
            result = msgspec.structs.replace(result, extra_items=[], missing=[])
        if len(items) == len(asked) and [it.message_uuid for it in items] == asked:
            return result  # the common case: every uuid answered once, in order
        wanted = {u.lower(): u for u in asked}
        first: dict[str, StopItem] = {}
        kept: list[StopItem] = []
        extra: list[StopItem] = []
        for it in items:
            key = it.message_uuid.lower()
            if key not in wanted:
                extra.append(it)
                continue
            seen = first.setdefault(key, it)
            if seen is it:
                kept.append(it)
            elif seen.code != it.code:
                raise self._conflict(it.message_uuid, seen.code, it.code)
        missing = [u for key, u in wanted.items() if key not in first]
        return msgspec.structs.replace(result, items=kept, extra_items=extra, missing=missing)

    async def stop(
        self, uuids: ItemsInput[str], *, chunk_size: int = MAX_STOP_BATCH,
        once_per_job: bool = False, **options: Unpack[BulkOptions],
    ) -> BulkReport:  # fmt: skip
        """Stop any number of messages; every input uuid gets one outcome.

        ``uuids`` may be a list, any iterable or an async iterable, read lazily in
        requests of ``chunk_size`` (at most 10,000; duplicates within a request are
        sent once). Codes map to outcomes: 200 ``stopped``, 202 ``maybe_stopped``, 403
        ``not_stoppable``, 404 ``not_found``; any other code is ``unknown`` with the
        code kept. Invalid uuids are ``failed`` and never sent. Options: see
        ``aiomsg.bulk.BulkOptions``; ``stream_stop`` gives outcomes as they arrive.

        A uuid repeated in a later request is stopped again (harmless: stopping is
        idempotent) and gets Revicom's answer about the message as it then is. With
        ``once_per_job=True`` it is sent once per job and every repeat gets its first
        occurrence's outcome, at the cost of keeping the job's uuids (see
        docs/bulk.md, "Repeated uuids and umids").

        Args:
            uuids: Message uuids: a list, any iterable or an async iterable.
            chunk_size: Uuids per request, 1 to 10,000.
            once_per_job: Send each uuid at most once in the job; a repeat takes its
                first occurrence's outcome, code and error.
            **options: Any of ``aiomsg.BulkOptions`` (``concurrency``, ``deadline``...).

        Returns:
            One outcome per input uuid, in input order, with counts that add up to
            the input size. It never raises for one uuid.

        Raises:
            ValidationError: ``chunk_size`` or an option is out of range (before
                anything is sent).
            BulkInputError: Reading ``uuids`` raised; ``.report`` holds what was
                done before.
        """
        return await collect(
            self.stream_stop(uuids, chunk_size=chunk_size, once_per_job=once_per_job, **options)
        )

    def stream_stop(
        self, uuids: ItemsInput[str], *, chunk_size: int = MAX_STOP_BATCH,
        once_per_job: bool = False, **options: Unpack[BulkOptions],
    ) -> AbstractAsyncContextManager[OutcomeStream]:  # fmt: skip
        """As ``stop``, but an ``async with`` block yielding outcomes as requests finish.

        ``async with revicom.stream_stop(uuids) as outcomes: async for o in outcomes``.
        Memory stays bounded whatever the input size (unless ``once_per_job``);
        leaving the block cancels the job.

        Args:
            uuids: As for ``stop``, and so are ``chunk_size``, ``once_per_job`` and
                ``**options``. With ``once_per_job``, memory grows with the uuids
                kept: about 27 bytes each past the first 65,536.

        Returns:
            An async context manager giving an ``OutcomeStream``: outcomes in the
            order requests finish, each with its input ``index``; its ``report``
            keeps the totals.
        """
        check_count("chunk_size", chunk_size, 1, MAX_STOP_BATCH)
        once = check_flag("once_per_job", once_per_job)
        checks = _UUIDS_ONCE if once else _UUIDS
        requests = Requests(checks=checks, send=self._stop_request, first_outcome=once)
        return bulk_stream(uuids, requests, chunk_size, **options)

    async def _stop_request(self, request: Request[str]) -> Answer:
        """One stop request of a bulk job, and what its answer says of each uuid."""
        # The fast check built the body while checking the uuids (see join_uuids).
        body = request.hint or encode(StopRequest(uuids=list(request.items)))
        result = await self._send_stop(body, request.on_wire, _AllStopped)
        answered, asked = result.items, request.ids
        if len(answered) == len(asked) and [it.message_uuid for it in answered] == asked:
            # The common case: every uuid answered, in the order sent.
            if type(result) is _AllStopped:
                return Answer(outcome=Outcome.STOPPED, code=StopCode.STOPPED,
                              error_flag=result.errors)  # fmt: skip
            codes = [it.code for it in answered]
            found = [_CODE_OUTCOMES.get(c, Outcome.UNKNOWN) for c in codes]
            return Answer(outcome=found, code=codes, error_flag=result.errors)
        by_id: dict[str, int] = {}
        conflicts: dict[str, APIResponseError] = {}
        for it in answered:
            key = it.message_uuid.lower()
            code = by_id.setdefault(key, it.code)
            if code != it.code:
                conflicts[key] = self._conflict(it.message_uuid, code, it.code)
        outcomes: list[Outcome] = []
        codes_of: list[int | None] = []
        errors: list[BaseException | None] = []
        for uuid in asked:
            key = uuid.lower()
            answer = by_id.get(key)
            if key in conflicts:  # the answer contradicts itself: the fate is unknown
                outcomes.append(Outcome.UNKNOWN)
                codes_of.append(None)
                errors.append(conflicts[key])
            elif answer is None:
                outcomes.append(Outcome.UNKNOWN)
                codes_of.append(None)
                errors.append(_MISSING)
            else:
                outcomes.append(_CODE_OUTCOMES.get(answer, Outcome.UNKNOWN))
                codes_of.append(answer)
                errors.append(None)
        known = {u.lower() for u in asked}
        return Answer(
            outcome=outcomes, code=codes_of, error=errors, error_flag=result.errors,
            extra_items=sum(1 for k in by_id if k not in known),
        )  # fmt: skip

    def _conflict(self, uuid: str, first: int, second: int) -> APIResponseError:
        """An answer giving one uuid two codes cannot be right: the uuid's fate is
        unknown (stopping is idempotent, so it can be sent again)."""
        return APIResponseError(
            f"Revicom's answer gives uuid {uuid} two different codes ({first} and {second})",
            method=STOP.method, url=self._api.host.shown(STOP.template), status_code=200,
        )  # fmt: skip

    async def _stop_prepared(
        self, uuids: list[str], *, on_wire: Callable[[bool], None] | None = None
    ) -> StopResult:
        """Send a stop for uuids already checked and de-duplicated."""
        return await self._send_stop(encode(StopRequest(uuids=uuids)), on_wire)

    async def _send_stop(
        self,
        body: bytes,
        on_wire: Callable[[bool], None] | None,
        first: type[StopResult] | None = None,
    ) -> StopResult:
        return await self._api.call_decoded(
            STOP, STOP.template, body, StopResult, scope="revicom", limit=self._rate_limit,
            on_wire=on_wire, first=first,
        )  # fmt: skip


def _uuid_fast(items: list[str]) -> Ready | None:
    # Checking the uuids builds the request body too (see join_uuids).
    body = join_uuids(items, _BODY_HEAD, _BODY_TAIL)
    return None if body is None else Ready(items, distinct=False, hint=body)


def _plain_uuid_fast(items: list[str]) -> Ready | None:
    # The job-wide rule compares plain values: a str subclass takes the careful
    # path, which sends (and compares) its plain value.
    return _uuid_fast(items) if set(map(type, items)) == _PLAIN else None


_PLAIN: Final = {str}
_UUIDS: Final = uuid_checks("uuids", _uuid_fast)
_UUIDS_ONCE: Final = uuid_checks("uuids", _plain_uuid_fast)
