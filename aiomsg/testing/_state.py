"""What the simulator remembers: keys, messages, batches, flows, Revicom messages.

Plain data and the operations the endpoints perform on it, with no HTTP in sight,
so the rules ("a cancelled message cancels once", "stopping a cascade root stops
the cascade") read in one place.
"""

from __future__ import annotations

import datetime as _dt
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from ._clock import SimClock, format_timestamp

__all__ = [
    "DEFAULT_WEBHOOK_TYPES",
    "FLOW_STATUSES",
    "REVICOM_STATES",
    "ApiKey",
    "FlowStatus",
    "MessageApi",
    "RevicomMessage",
    "RevicomState",
    "SimBatch",
    "SimFlow",
    "SimMessage",
    "SimState",
    "delivery_state",
    "message_record",
]

MessageApi = Literal["chatapps", "sms"]
FlowStatus = Literal["DRAFT", "PUBLISHED", "DEPRECATED"]
FLOW_STATUSES: Final[tuple[str, ...]] = ("DRAFT", "PUBLISHED", "DEPRECATED")
#: What a webhook registration or deletion without a ``type`` stands for.
DEFAULT_WEBHOOK_TYPES: Final = ("CADR", "MSG")
RevicomState = Literal["queued", "sending", "sent", "stopped"]
REVICOM_STATES: Final[tuple[str, ...]] = ("queued", "sending", "sent", "stopped")


@dataclass(eq=False, slots=True)
class ApiKey:
    """An 8x8 API key and what it may touch."""

    key: str
    sub_accounts: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)


@dataclass(eq=False, slots=True)
class SimMessage:
    """A Chat Apps or SMS message the simulator knows.

    ``state`` is live: ``"scheduled"`` until the clock reaches ``send_at`` (it can
    be cancelled until then), then ``"sent"``; ``"cancelled"`` once cancelled;
    ``"rejected"`` when the send refused it (``error_code`` says why).
    """

    umid: str
    api: MessageApi
    sub_account_id: str
    send_at: float | None
    clock: SimClock = field(repr=False)
    batch_id: str | None = None
    client_message_id: str | None = None
    msisdn: str | None = None
    cancelled_at: float | None = None
    error_code: int | None = None
    error_message: str | None = None
    created_at: float = 0.0
    delivery: str | None = None
    """The delivery state receipts report (``queued``, ``sent``, ``delivered``...)."""
    delivery_at: float = 0.0
    detail: str | None = None

    @property
    def state(self) -> str:
        """``scheduled``, ``sent``, ``cancelled`` or ``rejected``, at the simulated time."""
        if self.error_code is not None:
            return "rejected"
        if self.cancelled_at is not None:
            return "cancelled"
        if self.send_at is not None and self.clock.now() < self.send_at:
            return "scheduled"
        return "sent"

    def cancel(self) -> int:
        """Cancel if still scheduled; the number cancelled (0 or 1)."""
        if self.state != "scheduled":
            return 0
        self.cancelled_at = self.clock.now()
        return 1


@dataclass(eq=False, slots=True)
class SimBatch:
    """A batch of messages (a LINE batch send, or seeded SMS / Chat Apps messages)."""

    batch_id: str
    api: MessageApi
    sub_account_id: str
    umids: list[str] = field(default_factory=list)
    client_batch_id: str | None = None


@dataclass(eq=False, slots=True)
class SimFlow:
    """A WhatsApp Flow; only a ``"DRAFT"`` one can be deleted."""

    account_id: str
    channel_id: str
    flow_id: str
    status: FlowStatus = "DRAFT"


@dataclass(eq=False, slots=True)
class RevicomMessage:
    """A Revicom message. Set ``state`` directly to move it along in a test.

    A stop answered 200 (``"queued"``) or 202 (``"sending"``) lands after the
    simulator's ``stop_delay``: the message, and its cascade when it is a root,
    become ``"stopped"`` unless they reached ``"sent"`` meanwhile.
    """

    uuid: str
    state: RevicomState = "queued"
    cascade_root: str | None = None
    children: list[str] = field(default_factory=list)
    stop_code: int | None = None
    """The code the first successful stop answered (200 or 202), None if never stopped."""
    stop_lands_at: float | None = None
    """Simulated time the pending stop takes effect, None when none is pending."""


def delivery_state(msg: SimMessage) -> str:
    """What 8x8 reports of a message: its receipt state, else from its lifecycle."""
    if msg.delivery is not None:
        return msg.delivery
    return {"scheduled": "queued", "cancelled": "cancelled"}.get(msg.state, msg.state)


def message_record(msg: SimMessage) -> dict[str, object]:
    """A message as 8x8's message lookup answers it (one channel, step 1)."""
    clock = msg.clock
    status: dict[str, object] = {
        "state": delivery_state(msg),
        "timestamp": format_timestamp(clock.epoch + _dt.timedelta(seconds=msg.delivery_at)),
    }
    if msg.detail is not None:
        status["detail"] = msg.detail
    if msg.error_code is not None:
        status["errorCode"], status["errorMessage"] = msg.error_code, msg.error_message
    record: dict[str, object] = {
        "umid": msg.umid,
        "subAccountId": msg.sub_account_id,
        "channel": "Line" if msg.api == "chatapps" else "SMS",
        "channelId": "00000000-0000-0000-0000-000000000000",
        "direction": "outbound",
        "status": status,
        "contentType": "Template",
        "createdAt": format_timestamp(clock.epoch + _dt.timedelta(seconds=msg.created_at)),
        "step": 1,
    }
    if msg.client_message_id is not None:
        record["clientMessageId"] = msg.client_message_id
    if msg.batch_id is not None:
        record["batchId"] = msg.batch_id
    return record


def _account(account_id: str) -> str:
    return account_id.lower().replace("-", "")


def uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class SimState:
    """The simulator's whole state and the operations the endpoints perform."""

    def __init__(self, clock: SimClock, *, seed: int | None) -> None:
        self.clock = clock
        self.ids = random.Random(seed)
        self.keys: dict[str, ApiKey] = {}
        self.messages: dict[str, SimMessage] = {}
        self.batches: dict[str, SimBatch] = {}
        self.flows: dict[tuple[str, str, str], SimFlow] = {}
        self.revicom: dict[str, RevicomMessage] = {}
        self.webhooks: dict[str, dict[tuple[str, str], dict[str, object]]] = {}
        self.stop_delay = 2.0

    # ------------------------------------------------------------------ ids and keys

    def new_uuid(self) -> str:
        return uuid_from(self.ids)

    def key(self, key: str) -> ApiKey:
        entry = self.keys.get(key)
        if entry is None:
            entry = self.keys[key] = ApiKey(key)
        return entry

    # ------------------------------------------------------------------ messages

    def add_message(
        self,
        api: MessageApi,
        sub_account_id: str,
        *,
        send_at: float | None,
        batch: SimBatch | None = None,
        client_message_id: str | None = None,
        msisdn: str | None = None,
        error: tuple[int, str] | None = None,
    ) -> SimMessage:
        umid = self.new_uuid()
        msg = SimMessage(
            umid=umid,
            api=api,
            sub_account_id=sub_account_id,
            send_at=send_at,
            clock=self.clock,
            batch_id=None if batch is None else batch.batch_id,
            client_message_id=client_message_id,
            msisdn=msisdn,
            created_at=self.clock.now(),
            delivery_at=self.clock.now(),
        )
        if error is not None:
            msg.error_code, msg.error_message = error
        self.messages[umid] = msg
        if batch is not None:
            batch.umids.append(umid)
        return msg

    # ------------------------------------------------------------------ webhooks

    def set_webhooks(self, account_id: str, webhooks: list[dict[str, object]]) -> None:
        """Create or replace webhooks; one without a type stands for CADR and MSG."""
        table = self.webhooks.setdefault(_account(account_id), {})
        for hook in webhooks:
            kind = hook.get("type")
            for one in (kind,) if isinstance(kind, str) else DEFAULT_WEBHOOK_TYPES:
                entry = {**hook, "type": one}
                entry.setdefault("enabled", True)
                table[(str(hook["subAccountId"]), one)] = entry

    def delete_webhooks(self, account_id: str, targets: list[dict[str, object]]) -> None:
        """Delete webhooks by scope and type (no type: CADR and MSG); ``*`` is a scope."""
        table = self.webhooks.get(_account(account_id), {})
        for target in targets:
            kind = target.get("type")
            for one in (kind,) if isinstance(kind, str) else DEFAULT_WEBHOOK_TYPES:
                table.pop((str(target["subAccountId"]), one), None)

    def webhook_for(self, sub_account_id: str, kind: str) -> dict[str, object] | None:
        """The enabled webhook of ``kind`` for a sub-account: its own, else the ``*`` one."""
        for table in self.webhooks.values():
            for scope in (sub_account_id, "*"):
                hook = table.get((scope, kind))
                if hook is not None and hook.get("enabled") is not False:
                    return hook
        return None

    def add_batch(
        self, api: MessageApi, sub_account_id: str, client_batch_id: str | None = None
    ) -> SimBatch:
        batch = SimBatch(self.new_uuid(), api, sub_account_id, client_batch_id=client_batch_id)
        self.batches[batch.batch_id] = batch
        return batch

    def find_message(self, api: MessageApi, sub_account_id: str, umid: str) -> SimMessage | None:
        msg = self.messages.get(umid.lower())
        if msg is None or msg.api != api or msg.sub_account_id != sub_account_id:
            return None
        return msg

    def cancel_batch(self, api: MessageApi, sub_account_id: str, batch_id: str) -> int:
        """Cancel what is still scheduled in a batch; an unknown batch cancels nothing."""
        batch = self.batches.get(batch_id.lower())
        if batch is None or batch.api != api or batch.sub_account_id != sub_account_id:
            return 0
        return sum(self.messages[umid].cancel() for umid in batch.umids)

    # ------------------------------------------------------------------ flows

    def add_flow(self, account_id: str, channel_id: str, flow_id: str, status: FlowStatus) -> None:
        self.flows[(account_id.lower(), channel_id, flow_id)] = SimFlow(
            account_id, channel_id, flow_id, status
        )

    def get_flow(self, account_id: str, channel_id: str, flow_id: str) -> SimFlow | None:
        return self.flows.get((account_id.lower(), channel_id, flow_id))

    def delete_flow(self, flow: SimFlow) -> None:
        del self.flows[(flow.account_id.lower(), flow.channel_id, flow.flow_id)]

    # ------------------------------------------------------------------ Revicom

    def add_revicom(
        self, state: RevicomState, cascade_of: str | None, message_uuid: str | None = None
    ) -> RevicomMessage:
        if cascade_of is not None and cascade_of not in self.revicom:
            raise KeyError(f"no Revicom message {cascade_of!r} to hang a cascade from")
        key = self.new_uuid() if message_uuid is None else message_uuid.lower()
        msg = RevicomMessage(key, state, cascade_root=cascade_of)
        self.revicom[msg.uuid] = msg
        if cascade_of is not None:
            self.revicom[cascade_of].children.append(msg.uuid)
        return msg

    def stop(self, message_uuid: str) -> int:
        """Stop one message; the per-item code Revicom answers."""
        msg = self.revicom.get(message_uuid.lower())
        if msg is None:
            return 404
        if msg.state == "stopped":
            return 200  # already stopped: stopping again is harmless
        if msg.state == "sent":
            return 403
        if msg.stop_lands_at is not None and msg.stop_code is not None:
            return msg.stop_code  # a stop is already on its way: same answer
        code = 200 if msg.state == "queued" else 202
        msg.stop_code = code
        msg.stop_lands_at = self.clock.now() + self.stop_delay
        self.clock.call_at(msg.stop_lands_at, lambda: self._land_stop(msg))
        return code

    def _land_stop(self, msg: RevicomMessage) -> None:
        msg.stop_lands_at = None
        if msg.state == "sent":
            return  # it went out before the stop took hold
        for each in self._cascade(msg):
            if each.state != "sent":
                each.state = "stopped"

    def _cascade(self, root: RevicomMessage) -> Iterator[RevicomMessage]:
        stack = [root]
        seen: set[str] = set()
        while stack:
            msg = stack.pop()
            if msg.uuid in seen:
                continue
            seen.add(msg.uuid)
            yield msg
            stack.extend(self.revicom[child] for child in msg.children)
