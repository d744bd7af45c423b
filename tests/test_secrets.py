"""No credential or full phone number survives, in any encoding, into what aiomsg keeps.

A server may echo what it was sent in whatever encoding its serializer uses: JSON
escapes of some or every character (``\\u002B`` for ``+`` in .NET, ``\\/`` for ``/``),
percent-encoding, HTML references, or a mixture, and a Basic token's decoded
``user:password``. Each encoding in ``ENCODINGS`` is echoed, over real loopback HTTP,
in every place of an error answer (message, errorId, timestamp, an unknown field, a
header, a non-JSON body), and everything the library keeps or shows is searched
after undoing the encodings the same way a reader could.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import pickle
import re
import urllib.parse
from collections.abc import Callable

import pytest

import aiomsg
from aiomsg._errors import error_from_response, redact_text
from tests.faultserver import FaultServer, Reply

UMID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# Characters that serializers escape differently: "+", "/", "=" and a space.
API_KEY = "k3y+Sl/ash=9f2-Zq"
USER, PASSWORD = "acme-ops", "s3cr3t/p+ss word"
PAIR = f"{USER}:{PASSWORD}"
TOKEN = base64.b64encode(PAIR.encode()).decode()
PHONE = "+6591234567"
NO_RETRY = aiomsg.RetryPolicy(max_attempts=1)
Hook = Callable[[aiomsg.RequestEvent], None]


def _json_all(text: str, fmt: str = "\\u{:04X}") -> str:
    return "".join(fmt.format(ord(ch)) for ch in text)


def _alternate(text: str, odd: Callable[[str], str]) -> str:
    return "".join(odd(ch) if i % 2 else ch for i, ch in enumerate(text))


def _percent_all(text: str, fmt: str = "%{:02X}") -> str:
    return "".join(fmt.format(b) for b in text.encode())


#: How a server may write a string it echoes (inside a JSON string, where it lands).
ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "json every char upper hex": _json_all,
    "json every char lower hex": lambda s: _json_all(s, "\\u{:04x}"),
    "json every other char": lambda s: _alternate(s, _json_all),
    "json slash": lambda s: s.replace("/", "\\/"),
    "json plus (.NET)": lambda s: s.replace("+", "\\u002B"),
    ".NET style": lambda s: s.replace("+", "\\u002B").replace("/", "\\/").replace("=", "\\u003D"),
    "percent upper": lambda s: urllib.parse.quote(s, safe=""),
    "percent lower": lambda s: re.sub(
        "%[0-9A-F]{2}", lambda m: m[0].lower(), urllib.parse.quote(s, safe="")
    ),
    "percent every char": _percent_all,
    "percent every char lower": lambda s: _percent_all(s, "%{:02x}"),
    "form encoded": lambda s: urllib.parse.quote_plus(s),
    "html references": lambda s: "".join(f"&#{ord(ch)};" for ch in s),
    "html hex references": lambda s: "".join(f"&#x{ord(ch):x};" for ch in s),
    "mixed json and percent": lambda s: "".join(
        _json_all(ch) if i % 3 == 0 else _percent_all(ch) if i % 3 == 1 else ch
        for i, ch in enumerate(s)
    ),
    "percent-encoded json escapes": lambda s: urllib.parse.quote(_json_all(s), safe=""),
    "json-escaped percent": lambda s: _alternate(_percent_all(s), _json_all),
}

#: What must never be readable: each client's credential and what it stands for.
EIGHT_SECRETS = {"api key": API_KEY}
REVICOM_SECRETS = {
    "token": TOKEN,
    "token unpadded": TOKEN.rstrip("="),
    "token url-safe": base64.urlsafe_b64encode(PAIR.encode()).decode().rstrip("="),
    "user:password": PAIR,
    "password": PASSWORD,
    "user": USER,
}


def _reveal(text: str) -> str:
    """What a reader could recover: three rounds of undoing every encoding above."""
    for _ in range(3):
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
        text = re.sub(r"\\([\\/\"'])", r"\1", text)
        text = html.unescape(text)
        text = urllib.parse.unquote(text)
    return text


def assert_hidden(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for shown in (text, _reveal(text), _reveal(text).replace("+", " ")):
            for secret in secrets:
                assert secret not in shown, (secret, text)
            assert PHONE[1:] not in shown.replace(" ", ""), text


def everything_kept(exc: BaseException, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every text a user could see of an error, its causes, pickles and the logs."""
    texts: list[str] = [caplog.text, pickle.dumps(exc).decode("utf-8", "replace")]
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        seen = seen.__cause__ or seen.__context__
    return texts


def _json_body(echo: str) -> bytes:
    # ``echo`` is already written as it sits inside a JSON string.
    return (
        f'{{"code": 1200, "message": "bad credentials {echo} for {PHONE}", '
        f'"errorId": "{echo}", "timestamp": "{echo}", "detail": "{echo}"}}'
    ).encode()


def _text_body(echo: str) -> bytes:
    return f"<html><body>Unauthorized: {echo} (number {PHONE})</body></html>".encode()


def _header_safe(echo: str) -> str:
    return echo if echo.isascii() and "\n" not in echo else urllib.parse.quote(echo)


async def _eight_failure(server: FaultServer, hook: Hook) -> aiomsg.APIError:
    async with aiomsg.EightByEight(
        api_key=API_KEY,
        sms_url=server.url,
        chatapps_url=server.url,
        retry=NO_RETRY,
        on_request=hook,
    ) as client:
        with pytest.raises(aiomsg.APIError) as info:
            await client.sms.cancel_message("sub-1", UMID)
    return info.value


async def _revicom_failure(server: FaultServer, hook: Hook) -> aiomsg.APIError:
    async with aiomsg.Revicom(
        token=TOKEN, base_url=server.url, retry=NO_RETRY, on_request=hook
    ) as client:
        with pytest.raises(aiomsg.APIError) as info:
            await client.stop_batch([UMID])
    return info.value


CASES = [
    (provider, name, secret_name, secret)
    for provider, secrets in (("8x8", EIGHT_SECRETS), ("revicom", REVICOM_SECRETS))
    for secret_name, secret in secrets.items()
    for name in ENCODINGS
]


@pytest.mark.parametrize(
    ("provider", "encoding", "secret_name", "secret"),
    CASES,
    ids=[f"{p}-{s}-{e}" for p, e, s, _ in CASES],
)
@pytest.mark.parametrize("body_kind", ["json", "text"])
async def test_an_echoed_secret_is_masked_in_every_encoding(
    provider: str,
    encoding: str,
    secret_name: str,
    secret: str,
    body_kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiomsg")
    echo = ENCODINGS[encoding](secret)
    if body_kind == "json" and encoding in ("plain", "form encoded"):
        echo = json.dumps(echo)[1:-1]  # as any serializer writes it inside a string
    body = _json_body(echo) if body_kind == "json" else _text_body(echo)
    headers = {
        "WWW-Authenticate": f'Basic realm="{_header_safe(echo)}"',
        "X-Echo": _header_safe(echo),
    }
    events: list[aiomsg.RequestEvent] = []
    async with FaultServer(default=Reply(401, body, headers)) as server:
        if provider == "8x8":
            error = await _eight_failure(server, events.append)
            secrets = tuple(EIGHT_SECRETS.values())
        else:
            error = await _revicom_failure(server, events.append)
            secrets = tuple(REVICOM_SECRETS.values())
    assert isinstance(error, aiomsg.AuthenticationError)
    assert len(events) == 1
    texts = everything_kept(error, caplog) + [repr(e) for e in events]
    assert_hidden(texts, *secrets)
    # Masked, not dropped: the answer's own words stay readable.
    shown = error.message if body_kind == "json" else error.body_excerpt
    assert "***" in shown
    assert "***4567" in shown


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_full_numbers_are_masked_in_every_encoding(encoding: str) -> None:
    for number in (PHONE, PHONE[1:], "+65 9123 4567"):
        text = redact_text(f"no route to {ENCODINGS[encoding](number)}.")
        assert_hidden([text])
        assert "4567" in _reveal(text)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_masking_holds_after_decoding(encoding: str) -> None:
    # The rule applies to the decoded strings, not only to the bytes on the wire.
    echo = ENCODINGS[encoding](API_KEY)
    error = error_from_response(
        400,
        json.dumps({"message": f"key {echo}", "errorId": echo, "timestamp": echo}).encode(),
        method="DELETE",
        url="https://x/y",
        secrets=(API_KEY,),
    )
    assert_hidden(
        [str(error), repr(error), error.message, str(error.error_id), str(error.timestamp)], API_KEY
    )


def test_an_excerpt_cut_never_keeps_part_of_a_secret() -> None:
    # Padding that the excerpt squeezes away, then the secret right at the cut.
    for pad in (4096 - 10, 4096 - len(API_KEY) // 2, 4095, 4097):
        body = (" " * pad + API_KEY + " tail").encode()
        error = error_from_response(
            502, body, method="DELETE", url="https://x/y", secrets=(API_KEY,)
        )
        assert API_KEY[:6] not in error.body_excerpt
        assert API_KEY[-6:] not in error.body_excerpt


def test_masking_keeps_ordinary_text() -> None:
    text = "Invalid token at 2017-04-19T02:31:19, errorId 91b1-0f0c, 50% off &amp; more \\n"
    assert redact_text(text, (API_KEY, TOKEN)) == text


def test_overlapping_matches_merge() -> None:
    text = f"key {API_KEY}{PHONE[1:]} and Bearer {API_KEY}"
    out = redact_text(text, (API_KEY,))
    assert_hidden([out], API_KEY)
    assert out.startswith("key ***")


#: Answers aiohttp cannot parse; its exception quotes the offending bytes.
MALFORMED = {
    "status line": b"HTTP/1.1 abc {echo}\r\n\r\n",
    "header name": b"HTTP/1.1 200 OK\r\nX-{echo} : v\r\nContent-Length: 2\r\n\r\n{{}}",
    "chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz{echo}\r\n",
}


@pytest.mark.parametrize("where", list(MALFORMED))
@pytest.mark.parametrize("encoding", ["plain", "percent upper", "json every other char"])
async def test_a_secret_quoted_by_the_http_parser_is_masked(
    where: str, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import traceback

    echo = ENCODINGS[encoding](API_KEY).encode()
    answer = MALFORMED[where].replace(b"{echo}", echo).replace(b"{{}}", b"{}")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiomsg.EightByEight(
            api_key=API_KEY, sms_url=f"http://127.0.0.1:{port}", retry=NO_RETRY
        ) as client:
            with pytest.raises(aiomsg.APIConnectionError) as info:
                await client.sms.cancel_message("sub-1", UMID)
    finally:
        server.close()
        await server.wait_closed()
    texts = everything_kept(info.value, caplog)
    texts.append("".join(traceback.format_exception(info.value)))
    assert_hidden(texts, API_KEY)
    assert info.value.__cause__ is not None  # the cause is kept, masked


async def test_a_secret_quoted_by_a_decode_error_is_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # msgspec quotes an invalid enum or literal value in its error.
    body = f'{{"errors": false, "items": [{{"uuid": "{UMID}", "code": 200}}], "x": 1}}'
    echo = ENCODINGS["json plus (.NET)"](PASSWORD)
    bad = body.replace("false", f'"{echo}"').encode()
    async with FaultServer(default=Reply(200, bad)) as server:
        async with aiomsg.Revicom(token=TOKEN, base_url=server.url, retry=NO_RETRY) as client:
            with pytest.raises(aiomsg.APIResponseError) as info:
                await client.stop_batch([UMID])
    assert_hidden(everything_kept(info.value, caplog), *REVICOM_SECRETS.values())


def test_a_seven_digit_fraction_is_not_a_number_but_a_number_after_a_dot_is() -> None:
    stamp = "2017-04-19T02:31:19.4297387+00:00"
    assert redact_text(stamp) == stamp
    assert redact_text("tel.6591234567") == "tel.***4567"


def test_digits_inside_an_identifier_are_not_a_number() -> None:
    guid = "b4478860-b76c-e811-814e-022a35cc1c71"
    assert redact_text(guid) == guid
    for encoded in ("\\u002B6591234567", "%2B6591234567", "&#43;6591234567"):
        assert redact_text(f"to {encoded}") == "to ***4567"
