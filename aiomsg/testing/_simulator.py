"""``Simulator``: the stateful fake of 8x8 and Revicom that tests and the demo talk to."""

from __future__ import annotations

import math
import random
import ssl
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from ..eightxeight import EightByEight
from ..revicom import Revicom
from ._checks import require_param, require_uuid
from ._clock import SimClock
from ._deliveries import DEFAULT_RECEIPT_QUEUE_SIZE, ReceiptDeliveries
from ._faults import Fault, FaultRule, FaultRules
from ._recording import DEFAULT_REQUEST_LOG_BYTES, RecordedRequest, RequestLog
from ._routing import match_routes
from ._server import SimServer
from ._state import (
    FLOW_STATUSES,
    REVICOM_STATES,
    FlowStatus,
    MessageApi,
    RevicomMessage,
    RevicomState,
    SimBatch,
    SimFlow,
    SimMessage,
    SimState,
)
from ._tls import TLSMaterial

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_KEY",
    "DEFAULT_REVICOM_TOKEN",
    "DEFAULT_SUB_ACCOUNT",
    "SeededMessages",
    "Simulator",
]

DEFAULT_API_KEY: Final = "sim-api-key"
"""The 8x8 API key a ``Simulator`` accepts unless given ``api_key=``."""
DEFAULT_REVICOM_TOKEN: Final = "sim-revicom-token"
"""The Revicom Basic token a ``Simulator`` accepts unless given ``revicom_token=``."""
DEFAULT_SUB_ACCOUNT: Final = "sim-sub"
"""The sub-account the default API key owns (``sim.sub_accounts[0]``)."""
DEFAULT_ACCOUNT_ID: Final = "5f0c1e2d3a4b4c6d8e8f9a0b1c2d3e4f"
"""The account (for WhatsApp Flows) the default API key owns (``sim.account_id``)."""
#: How long a scheduled message waits before it is sent, in simulated seconds.
DEFAULT_SCHEDULE_DELAY: Final = 3600.0
#: Revicom: "it can take a few seconds" before a stop shows in the message's state.
DEFAULT_STOP_DELAY: Final = 2.0
#: 8x8's documented rate limits: 1,800 requests/s per sub-account, 100/min for Flows.
DEFAULT_RATE_LIMIT: Final = 1800.0
DEFAULT_FLOWS_RATE_LIMIT: Final = 100 / 60


@dataclass(frozen=True, slots=True)
class SeededMessages:
    """What ``add_sms_messages`` / ``add_chatapps_messages`` created."""

    umids: tuple[str, ...]
    batch_id: str | None


class Simulator:
    """A stateful fake of the 8x8 Chat Apps, 8x8 SMS and Revicom APIs over real HTTP.

    It listens on ``host``:``port`` (a free port by default) and serves each API
    under its own prefix: ``sim.chatapps_url``, ``sim.sms_url``, ``sim.revicom_url``.
    Use ``async with Simulator() as sim:`` or ``start()`` / ``stop()``.

    Options (all keyword-only):

    - ``tls``: serve HTTPS with a certificate made at start (needs ``trustme``);
      clients trust it through ``ssl_context()`` or the ``ca_path`` file.
      ``tls_max_version`` caps what the server offers (``ssl.TLSVersion.TLSv1_2`` to
      test the client's minimum); 8x8 endpoints answer 426 / code 1014 to a
      connection below TLS 1.3 unless ``require_tls13=False``.
    - ``api_key`` owns ``sub_accounts`` and ``account_id``; ``revicom_token`` is the
      Revicom Basic token. More keys: ``add_api_key``.
    - ``rate_limit``: requests per second per sub-account (None: unlimited), with
      ``rate_limit_burst`` (default one second's worth); ``flows_rate_limit`` the same
      per API key for WhatsApp Flows (8x8: 100 requests per minute per API key).
      ``revicom_rate_limit`` the same per Revicom token (Revicom documents no
      limit: None by default). Over the limit: 429 with ``Retry-After``.
    - ``latency``: seconds (real time) each request waits before it is handled,
      fixed or drawn evenly from a ``(low, high)`` range; None for none.
    - ``schedule_line_sends``: LINE sends create scheduled messages (cancellable for
      ``schedule_delay`` simulated seconds) instead of sending them at once.
    - ``per_message_rejection``: an invalid message in a LINE batch is rejected on
      its own inside a 200 answer rather than failing the request with 400.
    - ``stop_delay``: simulated seconds before a Revicom stop shows in the state.
    - ``receipt_queue_size``: how many due delivery receipts may wait to be POSTed
      (see ``receipts``); every LINE message taken gets receipts (queued, sent,
      delivered or undelivered, read for some) on the simulated clock, POSTed to the
      CADR webhook registered with ``set_webhooks`` (loopback URLs only), retried
      1, 10, 30 and 90 simulated seconds after a failure.
    - ``flow_delete_status``: what deleting a DRAFT flow answers, 200 with no body
      (what 8x8's API reference documents, the default) or 204.
    - ``seed``: makes generated ids and probabilistic faults repeatable.
    - ``clock``: a ``SimClock``; the default one moves only with ``advance()``.
    - ``record_requests``: keep every request in ``requests`` (unknown routes are
      always kept in ``unexpected_requests``). Each log keeps the latest requests
      that fit in ``request_log_bytes`` (32 MiB by default, counting bodies and
      headers; None: no bound) and, with ``request_log_limit``, at most that many.
      ``request_counts`` counts every request per route whatever the logs dropped;
      ``requests_dropped`` says how many records the bounds removed.

    Where the providers document no answer, the simulator picks one and keeps to it:
    an unknown batch id cancels nothing (``{"cancelledCount": 0}``, as the spec lists
    no 404); a flow not in DRAFT answers 409 with code 1000; an account the key does
    not own answers 403 / 1201; a rate-limited request answers 429 with code 1100;
    an unknown endpoint answers 404 with no provider code (so it never reads as
    "message not found"); Revicom errors are ``{"errors": true, "message": ...}``; a
    message already stopped answers 200 again.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        tls_max_version: ssl.TLSVersion | None = None,
        require_tls13: bool = True,
        api_key: str = DEFAULT_API_KEY,
        revicom_token: str = DEFAULT_REVICOM_TOKEN,
        sub_accounts: Iterable[str] = (DEFAULT_SUB_ACCOUNT,),
        account_id: str = DEFAULT_ACCOUNT_ID,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        rate_limit_burst: int | None = None,
        revicom_rate_limit: float | None = None,
        revicom_rate_limit_burst: int | None = None,
        flows_rate_limit: float | None = DEFAULT_FLOWS_RATE_LIMIT,
        flows_rate_limit_burst: int | None = 100,
        schedule_line_sends: bool = False,
        schedule_delay: float = DEFAULT_SCHEDULE_DELAY,
        per_message_rejection: bool = False,
        stop_delay: float = DEFAULT_STOP_DELAY,
        seed: int | None = None,
        clock: SimClock | None = None,
        record_requests: bool = True,
        request_log_limit: int | None = None,
        request_log_bytes: int | None = DEFAULT_REQUEST_LOG_BYTES,
        flow_delete_status: int = 200,
        latency: float | tuple[float, float] | None = None,
        receipt_queue_size: int = DEFAULT_RECEIPT_QUEUE_SIZE,
    ) -> None:
        if isinstance(sub_accounts, str):
            raise TypeError("sub_accounts takes a collection of ids, not one string")
        for name, limit in (
            ("rate_limit", rate_limit),
            ("flows_rate_limit", flows_rate_limit),
            ("revicom_rate_limit", revicom_rate_limit),
        ):
            if limit is not None and not (limit > 0 and math.isfinite(limit)):
                raise ValueError(f"{name} must be a positive number or None")
        _check_log_bound("request_log_limit", request_log_limit)
        _check_log_bound("request_log_bytes", request_log_bytes)
        _check_delay("stop_delay", stop_delay)
        if flow_delete_status not in (200, 204):
            raise ValueError("flow_delete_status must be 200 or 204")
        _check_delay("schedule_delay", schedule_delay)
        if not revicom_token or not api_key:
            raise ValueError("api_key and revicom_token must not be empty")
        self.host = host
        self._port = port
        self.tls = tls
        self.tls_max_version = tls_max_version
        self.require_tls13 = require_tls13
        self.api_key = api_key
        self.revicom_token = revicom_token
        self.account_id = _account(account_id)
        self.clock = clock if clock is not None else SimClock()
        self.rate_limit_burst = rate_limit_burst
        self.flows_rate_limit = flows_rate_limit
        self.flows_rate_limit_burst = flows_rate_limit_burst
        self.schedule_line_sends = schedule_line_sends
        self.schedule_delay = schedule_delay
        self.per_message_rejection = per_message_rejection
        self.record_requests = record_requests
        self.flow_delete_status = flow_delete_status
        self._latency = _check_latency(latency)
        self.revicom_rate_limit = revicom_rate_limit
        self.revicom_rate_limit_burst = revicom_rate_limit_burst
        self._latency_rng = random.Random(seed)
        self._log = RequestLog(request_log_limit, request_log_bytes)
        self._unexpected_log = RequestLog(request_log_limit, request_log_bytes)
        self.requests: list[RecordedRequest] = self._log.records
        """The requests received (when ``record_requests``), oldest first, within the bounds."""
        self.unexpected_requests: list[RecordedRequest] = self._unexpected_log.records
        """Requests to no known endpoint (answered 404), within the same bounds."""
        self.request_counts: Counter[str | None] = Counter()
        """How many requests each route received (None: unknown routes), log bounds aside."""
        self.rejected_recipients: dict[str, tuple[int, str]] = {}
        """LINE recipients (msisdn) whose messages are rejected: msisdn -> (code, message)."""
        self._state = SimState(self.clock, seed=seed)
        self._state.stop_delay = stop_delay
        self._fault_rules = FaultRules(seed)
        self.receipts = ReceiptDeliveries(
            self._state, self.clock, seed=seed, queue_size=receipt_queue_size
        )
        """Delivery receipts POSTed to the registered CADR webhook: counts, ``drain()``."""
        self._server = SimServer(
            self,
            state=self._state,
            faults=self._fault_rules,
            log=self._log,
            unexpected_log=self._unexpected_log,
            counts=self.request_counts,
            latency_rng=self._latency_rng,
        )
        self._rate_limit = rate_limit
        self._tls: TLSMaterial | None = None
        self.sub_accounts: tuple[str, ...] = tuple(sub_accounts)
        self.add_api_key(api_key, sub_accounts=self.sub_accounts, account_ids=(account_id,))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Simulator:
        """Start listening (a no-op when already started); returns the simulator."""
        if self._server.running:
            return self
        ssl_context = None
        try:
            if self.tls:
                if self._tls is None:
                    self._tls = TLSMaterial(self.host)
                ssl_context = self._tls.server_context(self.tls_max_version)
            self._port = await self._server.start(self.host, self._port, ssl_context)
            await self.receipts.start()
        except BaseException:
            await self._server.stop()
            # Not started (port in use, say): leave no certificate files behind.
            if self._tls is not None:
                self._tls.cleanup()
                self._tls = None
            raise
        return self

    async def stop(self) -> None:
        """Stop listening, drop open connections and stop delivering receipts
        (idempotent). State is kept."""
        await self.receipts.stop()
        await self._server.stop()
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    @property
    def started(self) -> bool:
        """True while the simulator listens (between ``start()`` and ``stop()``)."""
        return self._server.running

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = self.url if self.started else "stopped"
        return f"Simulator({where})"

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        """The port listened on (the one picked for port 0 once started)."""
        return self._port

    @property
    def url(self) -> str:
        """The root URL, ``http://127.0.0.1:PORT`` (``https`` with TLS)."""
        if not self.started:
            raise RuntimeError("the simulator is not started: use 'async with' or start()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self._port}"

    @property
    def chatapps_url(self) -> str:
        """Base URL of the 8x8 Chat Apps API (pass as ``chatapps_url``)."""
        return f"{self.url}/chatapps"

    @property
    def sms_url(self) -> str:
        """Base URL of the 8x8 SMS API (pass as ``sms_url``)."""
        return f"{self.url}/sms"

    @property
    def revicom_url(self) -> str:
        """Base URL of the Revicom API (pass as ``base_url``)."""
        return f"{self.url}/revicom"

    @property
    def ca_path(self) -> str:
        """Path of the PEM file of the CA that signed the server's certificate (TLS only)."""
        if self._tls is None:
            raise RuntimeError("ca_path exists only for a started Simulator(tls=True)")
        return self._tls.ca_path

    def ssl_context(
        self, *, minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    ) -> ssl.SSLContext:
        """A client context that trusts the simulator's CA (TLS 1.3 minimum by default)."""
        if self._tls is None:
            raise RuntimeError("ssl_context() exists only for a started Simulator(tls=True)")
        return self._tls.client_context(minimum_version)

    def eightbyeight(self, **options: Any) -> EightByEight:
        """An ``aiomsg.EightByEight`` bound to the simulator; ``options`` override."""
        kwargs: dict[str, Any] = {
            "api_key": self.api_key,
            "chatapps_url": self.chatapps_url,
            "sms_url": self.sms_url,
        }
        if self.tls:
            kwargs["ssl"] = self.ssl_context(
                minimum_version=options.get("min_tls_version", ssl.TLSVersion.TLSv1_3)
            )
        kwargs.update(options)
        return EightByEight(**kwargs)

    def revicom(self, **options: Any) -> Revicom:
        """An ``aiomsg.Revicom`` bound to the simulator; ``options`` override."""
        kwargs: dict[str, Any] = {"token": self.revicom_token, "base_url": self.revicom_url}
        if self.tls:
            kwargs["ssl"] = self.ssl_context(
                minimum_version=options.get("min_tls_version", ssl.TLSVersion.TLSv1_2)
            )
        kwargs.update(options)
        return Revicom(**kwargs)

    # ------------------------------------------------------------------ time

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward; due changes (stops landing) happen now."""
        self.clock.advance(seconds)

    def _settle(self) -> None:
        self.clock.run_due()

    # ------------------------------------------------------------------ settings

    @property
    def rate_limit(self) -> float | None:
        """Requests per second per sub-account; None disables the limit."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: float | None) -> None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ValueError("rate_limit must be a positive number or None")
        self._rate_limit = value
        self._server.reset_buckets()

    @property
    def latency(self) -> tuple[float, float] | None:
        """Real seconds each request waits before it is handled, as a (low, high) range."""
        return self._latency

    @latency.setter
    def latency(self, value: float | tuple[float, float] | None) -> None:
        self._latency = _check_latency(value)

    @property
    def stop_delay(self) -> float:
        """Simulated seconds between a Revicom stop and its effect on the state."""
        return self._state.stop_delay

    @stop_delay.setter
    def stop_delay(self, value: float) -> None:
        _check_delay("stop_delay", value)
        self._state.stop_delay = value

    # ------------------------------------------------------------------ keys and accounts

    def add_api_key(
        self, key: str, *, sub_accounts: Iterable[str] = (), account_ids: Iterable[str] = ()
    ) -> None:
        """Accept ``key`` for these sub-accounts and accounts (added to what it had)."""
        if not key:
            raise ValueError("an API key must not be empty")
        entry = self._state.key(key)
        for sub in sub_accounts:
            entry.sub_accounts.add(_sub_account(sub))
        for account in account_ids:
            entry.accounts.add(_account(account).lower())

    def add_sub_account(self, sub_account_id: str, *, api_key: str | None = None) -> None:
        """Let ``api_key`` (default: the main key) use ``sub_account_id``."""
        self.add_api_key(api_key or self.api_key, sub_accounts=(sub_account_id,))

    def add_account(self, account_id: str, *, api_key: str | None = None) -> None:
        """Let ``api_key`` (default: the main key) use ``account_id`` (WhatsApp Flows)."""
        self.add_api_key(api_key or self.api_key, account_ids=(account_id,))

    # ------------------------------------------------------------------ messages

    def add_sms_messages(
        self,
        count: int = 1,
        *,
        sub_account_id: str | None = None,
        batch: bool = True,
        state: str = "scheduled",
        send_in: float | None = None,
    ) -> SeededMessages:
        """Seed SMS messages, as if sent earlier; returns their umids and batch id.

        ``state`` is ``"scheduled"`` (cancellable until ``send_in`` simulated seconds
        from now, default ``schedule_delay``), ``"sent"`` or ``"cancelled"``. With
        ``batch`` they share one batch id, for ``sms.cancel_batch``.
        """
        return self._seed("sms", count, sub_account_id, batch, state, send_in)

    def add_chatapps_messages(
        self,
        count: int = 1,
        *,
        sub_account_id: str | None = None,
        batch: bool = True,
        state: str = "scheduled",
        send_in: float | None = None,
    ) -> SeededMessages:
        """Seed Chat Apps messages (as ``add_sms_messages``), for the Chat Apps cancels."""
        return self._seed("chatapps", count, sub_account_id, batch, state, send_in)

    def _seed(
        self,
        api: MessageApi,
        count: int,
        sub_account_id: str | None,
        batch: bool,
        state: str,
        send_in: float | None,
    ) -> SeededMessages:
        if count < 0:
            raise ValueError("count must be >= 0")
        if state not in ("scheduled", "sent", "cancelled"):
            raise ValueError("state must be 'scheduled', 'sent' or 'cancelled'")
        if sub_account_id is None and not self.sub_accounts:
            raise ValueError("no sub-account: pass sub_account_id=")
        sub = _sub_account(sub_account_id or self.sub_accounts[0])
        now = self.clock.now()
        if state == "sent":
            send_at = now
        else:
            delay = self.schedule_delay if send_in is None else send_in
            _check_delay("send_in", delay)
            send_at = now + delay
        seeded = self._state.add_batch(api, sub) if batch else None
        umids = []
        for _ in range(count):
            msg = self._state.add_message(api, sub, send_at=send_at, batch=seeded)
            if state == "cancelled":
                msg.cancelled_at = now
            umids.append(msg.umid)
        return SeededMessages(tuple(umids), None if seeded is None else seeded.batch_id)

    def message(self, umid: str) -> SimMessage:
        """The Chat Apps or SMS message with this umid (``KeyError`` if unknown)."""
        self._settle()
        return self._state.messages[umid.lower()]

    @property
    def messages(self) -> list[SimMessage]:
        """Every Chat Apps and SMS message, oldest first."""
        self._settle()
        return list(self._state.messages.values())

    def find_messages(
        self,
        *,
        api: str | None = None,
        sub_account_id: str | None = None,
        batch_id: str | None = None,
        client_message_id: str | None = None,
        state: str | None = None,
    ) -> list[SimMessage]:
        """Messages matching every given criterion (to reconcile by clientMessageId, say)."""
        self._settle()
        return [
            m
            for m in self._state.messages.values()
            if (api is None or m.api == api)
            and (sub_account_id is None or m.sub_account_id == sub_account_id)
            and (batch_id is None or m.batch_id == batch_id.lower())
            and (client_message_id is None or m.client_message_id == client_message_id)
            and (state is None or m.state == state)
        ]

    def batch(self, batch_id: str) -> SimBatch:
        """The batch with this id (``KeyError`` if unknown)."""
        return self._state.batches[batch_id.lower()]

    @property
    def batches(self) -> list[SimBatch]:
        """Every batch, oldest first."""
        return list(self._state.batches.values())

    def reject_recipients(
        self,
        msisdns: Iterable[str],
        *,
        code: int = 3003,
        message: str = "Invalid MSISDN",
    ) -> None:
        """Reject LINE messages to these numbers inside a 200 answer (state "rejected")."""
        for msisdn in msisdns:
            self.rejected_recipients[msisdn] = (code, message)

    # ------------------------------------------------------------------ WhatsApp Flows

    def add_flow(
        self,
        channel_id: str,
        flow_id: str | None = None,
        status: FlowStatus = "DRAFT",
        *,
        account_id: str | None = None,
    ) -> str:
        """Create a WhatsApp Flow (DRAFT, PUBLISHED or DEPRECATED); returns its id.

        Only a DRAFT flow can be deleted (200, or ``flow_delete_status``); others
        answer 409, unknown ones 404.
        """
        if status not in FLOW_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FLOW_STATUSES)}")
        account = _account(account_id or self.account_id)
        require_param(_FLOW, "channelId", channel_id, "channel_id")
        if flow_id is None:
            flow_id = str(self._state.ids.randrange(10**15, 10**16))
        require_param(_FLOW, "flowId", flow_id, "flow_id")
        self._state.add_flow(account, channel_id, flow_id, status)
        return flow_id

    def flow(self, channel_id: str, flow_id: str, *, account_id: str | None = None) -> SimFlow:
        """The flow (``KeyError`` if unknown or deleted); set ``.status`` to publish it."""
        found = self._state.get_flow(account_id or self.account_id, channel_id, flow_id)
        if found is None:
            raise KeyError(f"no flow {flow_id!r} on channel {channel_id!r}")
        return found

    @property
    def flows(self) -> list[SimFlow]:
        """Every flow not deleted."""
        return list(self._state.flows.values())

    # ------------------------------------------------------------------ Revicom

    def add_revicom_messages(
        self,
        count: int = 1,
        *,
        state: RevicomState = "queued",
        cascade_of: str | None = None,
        uuids: Iterable[str] | None = None,
    ) -> list[str]:
        """Create Revicom messages in ``state``; returns their uuids.

        With ``uuids`` these uuids are created (``count`` is then ignored); one
        already known, or given twice, is left as it is. With ``cascade_of`` (a
        uuid) they join that message's cascade: stopping the root stops them too.
        Per-item stop codes: queued 200, sending 202, sent 403, unknown 404; a stop
        lands after ``stop_delay`` simulated seconds.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if state not in REVICOM_STATES:
            raise ValueError(f"state must be one of {', '.join(REVICOM_STATES)}")
        root = None if cascade_of is None else cascade_of.lower()
        if uuids is None:
            return [self._state.add_revicom(state, root).uuid for _ in range(count)]
        if isinstance(uuids, str):
            raise TypeError("uuids takes a collection of uuids, not one string")
        made = []
        for value in uuids:
            key = require_uuid(value, "uuids").lower()
            if key not in self._state.revicom:
                self._state.add_revicom(state, root, key)
                made.append(key)
        return made

    def revicom_message(self, message_uuid: str) -> RevicomMessage:
        """The Revicom message with this uuid (``KeyError`` if unknown)."""
        self._settle()
        return self._state.revicom[message_uuid.lower()]

    @property
    def revicom_messages(self) -> list[RevicomMessage]:
        """Every Revicom message, oldest first."""
        self._settle()
        return list(self._state.revicom.values())

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        fault: Fault,
        *,
        route: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        after: int = 0,
    ) -> FaultRule:
        """Make requests fail with ``fault``; returns the rule (``.hits``, ``.cancel()``).

        ``route`` limits it to an endpoint (``"sms.cancel_message"``), an API
        (``"sms"``) or a glob (``"*.cancel_*"``); None means every endpoint. It fires
        on the next ``times`` matching requests (default 1), or, with
        ``probability``, on each matching request with that chance (drawn from the
        seeded generator; unlimited unless ``times`` is given). ``after`` lets that
        many matching requests through first. Rules are tried in the order
        injected; the first that fires decides.
        """
        return self._fault_rules.add(
            fault, route=route, times=times, probability=probability, after=after
        )

    def inject_random(
        self, faults: Sequence[Fault], *, rate: float, route: str | None = None
    ) -> list[FaultRule]:
        """Make each matching request fail with chance ``rate``, by one of ``faults``.

        The faults share the rate evenly (three faults at 0.06: each 0.02 of the
        requests), drawn from the seeded generator. Returns the rules, one per fault.
        """
        if not faults:
            raise ValueError("inject_random() needs at least one Fault")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        share = rate / len(faults)
        rules = []
        for i, fault in enumerate(faults):
            # Rules are tried in order: rule i sees only what the earlier ones let by.
            left = 1.0 - i * share
            chance = min(1.0, share / left) if left > 0 else 1.0
            rules.append(self.inject(fault, route=route, probability=chance))
        return rules

    @property
    def faults(self) -> list[FaultRule]:
        """The injected rules, in order (spent ones included)."""
        return list(self._fault_rules.rules)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._fault_rules.clear()

    # ------------------------------------------------------------------ requests

    def requests_for(self, route: str) -> list[RecordedRequest]:
        """Recorded requests to ``route`` (a name, an API name or a glob, as ``inject``)."""
        names = set(match_routes(route))
        if not names:
            raise ValueError(f"route {route!r} matches no endpoint")
        return [r for r in self.requests if r.route in names]

    def clear_requests(self) -> None:
        """Forget recorded requests, unexpected ones included (``request_counts`` too)."""
        self._log.clear()
        self._unexpected_log.clear()
        self.request_counts.clear()

    @property
    def requests_dropped(self) -> int:
        """Records the log bounds removed from ``requests``."""
        return self._log.dropped

    @property
    def request_log_limit(self) -> int | None:
        """At most this many records in each request log (None: no count bound)."""
        return self._log.max_count

    @property
    def request_log_bytes(self) -> int | None:
        """At most this many bytes of records in each request log (None: no bound)."""
        return self._log.max_bytes

    def assert_no_unexpected_requests(self) -> None:
        """Raise ``AssertionError`` listing the requests that hit no known endpoint."""
        if self.unexpected_requests:
            listed = "; ".join(f"{r.method} {r.path}" for r in self.unexpected_requests[:10])
            more = len(self.unexpected_requests) - 10
            raise AssertionError(
                f"{len(self.unexpected_requests)} request(s) to unknown endpoints of the "
                f"simulator: {listed}{f' and {more} more' if more > 0 else ''}"
            )


_FLOW: Final = "chatapps.delete_whatsapp_flow"


def _account(value: str) -> str:
    return require_param(_FLOW, "accountId", value, "account_id")


def _sub_account(value: str) -> str:
    return require_param("sms.cancel_message", "subAccountId", value, "sub_account_id")


def _check_delay(name: str, value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number of seconds >= 0")


def _check_log_bound(name: str, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise ValueError(f"{name} must be a whole number >= 1, or None")


def _check_latency(value: float | tuple[float, float] | None) -> tuple[float, float] | None:
    if value is None:
        return None
    low, high = (value, value) if isinstance(value, (int, float)) else value
    for bound in (low, high):
        _check_delay("latency", bound)
    if low > high:
        raise ValueError("latency: the low end of the range is above the high end")
    return (float(low), float(high))
