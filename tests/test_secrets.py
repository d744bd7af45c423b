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
import gc
import html
import html.entities
import json
import logging
import pickle
import re
import unicodedata
import urllib.parse
from collections.abc import Awaitable, Callable

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


# ------------------------------------------------- secrets that are hard to look for

#: Secrets whose own characters interfere with an encoding, and how a server echoes them.
HARD_SECRETS: dict[str, str] = {
    "html specials": "p&ss\"w<rd>/+=9'",
    "backslashes": "Ab\\/Cd\\\\Ef12\\u0041",
    "non-BMP": "key\U0001f511abcd1234",
    "non-ASCII": "caf\u00e9-p\u00e4ss-w\u00f6rd",
}
HARD_ENCODINGS: dict[str, Callable[[str], str]] = {
    "html.escape": html.escape,
    "html named references": lambda s: "".join(
        f"&{html.entities.codepoint2name[ord(c)]};" if ord(c) in html.entities.codepoint2name else c
        for c in s
    ),
    "html references without ;": lambda s: "".join(f"&#{ord(c)}" for c in s),
    "html hex references without ;": lambda s: "".join(f"&#x{ord(c):X}" for c in s) + " ",
    "json.dumps": lambda s: json.dumps(s)[1:-1],
    "json.dumps ascii": lambda s: json.dumps(s, ensure_ascii=True)[1:-1],
    "json of json": lambda s: json.dumps(json.dumps(s))[1:-1],
    "NFD": lambda s: unicodedata.normalize("NFD", s),
    "NFD json": lambda s: json.dumps(unicodedata.normalize("NFD", s))[1:-1],
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 of user:secret": lambda s: base64.b64encode(f"apikey:{s}".encode()).decode(),
    "base64url of user:secret": lambda s: base64.urlsafe_b64encode(f"u:{s}".encode()).decode(),
    "base64 of a longer text": lambda s: base64.b64encode(f"ab:{s}:cd".encode()).decode(),
}
HARD_CASES = [(s, e) for s in HARD_SECRETS for e in HARD_ENCODINGS]


def _json_string(text: str) -> str:
    quoted = text if len(text) > 1 and text[0] == text[-1] == '"' else f'"{text}"'
    try:
        return str(json.loads(quoted, strict=False))
    except ValueError:
        return text


#: How a reader undoes one layer: JSON string escapes, HTML references, percent-encoding.
READERS: tuple[Callable[[str], str], ...] = (_json_string, html.unescape, urllib.parse.unquote)


def _readable(text: str, secret: str) -> bool:
    """Whether ``secret`` can be read from ``text`` by undoing up to three layers of
    encoding in any order, Unicode normalisation, or base64."""
    readings = {text}
    for _ in range(3):
        readings |= {read(t) for t in readings for read in READERS}
    readings |= {unicodedata.normalize("NFC", t) for t in readings}
    for word in re.findall(r"[A-Za-z0-9+/=_-]{8,}", text):  # base64 runs
        for alphabet in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                readings.add(alphabet(word + "==").decode("utf-8", "replace"))
            except ValueError:
                pass
    return any(secret in t for t in readings)


@pytest.mark.parametrize(("secret_name", "encoding"), HARD_CASES)
def test_a_hard_secret_is_masked_however_it_is_echoed(secret_name: str, encoding: str) -> None:
    secret = HARD_SECRETS[secret_name]
    echo = HARD_ENCODINGS[encoding](secret)
    assert _readable(echo, secret)  # the check below is not vacuous
    inside_json = echo.replace("\\", "\\\\").replace('"', '\\"')
    bodies = [
        f'{{"code": 1200, "message": "bad {inside_json} here", "errorId": "{inside_json}"}}',
        f'{{"code": 1200, "detail": "bad {inside_json} here"}}',  # kept as an excerpt
        f"<html><body>Unauthorized: {echo} </body></html>",
    ]
    for body in bodies:
        error = error_from_response(
            401, body.encode(), method="POST", url="https://x/y", secrets=(secret,)
        )
        for text in (str(error), error.message, str(error.error_id), error.body_excerpt):
            assert not _readable(text, secret), (encoding, text)
        assert "***" in str(error)
    for secrets in ((secret,), (base64.b64encode(f"acme-ops:{secret}".encode()).decode(),)):
        masked = redact_text(f"bad {echo} here", secrets)
        assert not _readable(masked, secret), masked
        assert masked.startswith("bad ")


def test_a_secret_echoed_base64_encoded_alone_leaves_no_character_of_it() -> None:
    for encoded in (base64.b64encode(API_KEY.encode()), base64.urlsafe_b64encode(API_KEY.encode())):
        assert redact_text(f"key {encoded.decode()}.", (API_KEY,)) == "key ***."


def test_ordinary_text_with_references_and_base64_is_kept() -> None:
    text = "AT&amp;T &copy 2024 &notarealname; Zm9vYmFyYmF6cXV4 &#65 %41"
    assert redact_text(text, (API_KEY, TOKEN)) == text


# ----------------------------------------------------------------- body encodings

#: (Content-Type, how the body's bytes are written)
CHARSETS: dict[str, tuple[str | None, Callable[[str], bytes]]] = {
    "utf-16 declared": ("text/plain; charset=utf-16", lambda t: t.encode("utf-16")),
    "utf-16le declared": ("text/plain; charset=UTF-16LE", lambda t: t.encode("utf-16-le")),
    "utf-16be declared": ("application/json;charset=utf-16be", lambda t: t.encode("utf-16-be")),
    "utf-16 BOM only": (None, lambda t: t.encode("utf-16")),
    "utf-16le undeclared": (None, lambda t: t.encode("utf-16-le")),
    "utf-16be undeclared": ("text/plain", lambda t: t.encode("utf-16-be")),
    "utf-32 declared": ("text/html; charset=utf-32", lambda t: t.encode("utf-32")),
    "utf-32le undeclared": (None, lambda t: t.encode("utf-32-le")),
    "utf-32be undeclared": (None, lambda t: t.encode("utf-32-be")),
    "utf-8 BOM": (None, lambda t: t.encode("utf-8-sig")),
    "latin-1 declared": ('text/plain; charset="ISO-8859-1"', lambda t: t.encode("latin-1")),
    "latin-1 undeclared": (None, lambda t: t.encode("latin-1")),
    "cp1252 declared": ("text/plain; charset=windows-1252", lambda t: t.encode("cp1252")),
    "utf-8 declared, latin-1 sent": ("text/plain; charset=utf-8", lambda t: t.encode("latin-1")),
    "latin-1 declared, utf-8 sent": ("text/plain; charset=latin-1", lambda t: t.encode()),
    "unknown charset": ("text/plain; charset=x-nonsense", lambda t: t.encode("utf-16-le")),
}
CHARSET_SECRETS = (API_KEY, "cl\u00e9-s\u00e9cr\u00e8te-42")


def _visible(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())


@pytest.mark.parametrize("charset", list(CHARSETS))
@pytest.mark.parametrize("secret", CHARSET_SECRETS)
@pytest.mark.parametrize("kind", ["text", "json"])
def test_a_body_in_any_charset_is_read_before_masking(charset: str, secret: str, kind: str) -> None:
    content_type, encode = CHARSETS[charset]
    text = (
        f"Unauthorized: {secret} for {PHONE}"
        if kind == "text"
        else json.dumps({"code": 1200, "message": f"bad {secret} for {PHONE}"}, ensure_ascii=False)
    )
    error = error_from_response(
        401, encode(text), method="POST", url="https://x/y", secrets=(secret,),
        content_type=content_type,
    )  # fmt: skip
    kept = [str(error), repr(error), error.message, error.body_excerpt]
    for shown in kept:
        assert "\x00" not in shown
        # No run of the secret's characters longer than a quarter of it survives.
        piece = len(secret) // 4 + 1
        for i in range(len(secret) - piece + 1):
            assert secret[i : i + piece] not in _visible(shown), (charset, shown)
    assert "***4567" in " ".join(kept)
    if kind == "json" and "latin-1 declared, utf-8" not in charset:
        assert error.code == 1200


async def test_the_answer_s_charset_reaches_the_masking(caplog: pytest.LogCaptureFixture) -> None:
    body = f"Unauthorized: {API_KEY}".encode("utf-16-le")
    headers = {"Content-Type": "text/plain; charset=utf-16le"}
    async with FaultServer(default=Reply(401, body, headers)) as server:
        error = await _eight_failure(server, lambda event: None)
    assert error.body_excerpt == "Unauthorized: ***"  # type: ignore[attr-defined]
    assert_hidden(everything_kept(error, caplog), API_KEY)


# -------------------------------------------------------------- excerpts cut short

#: Encodings of one layer inside another, as a body may carry them.
TWO_LAYERS: dict[str, Callable[[str], str]] = {
    "percent-encoded json escapes": ENCODINGS["percent-encoded json escapes"],
    "json-escaped percent": ENCODINGS["json-escaped percent"],
    "percent-encoded html references": lambda s: urllib.parse.quote(
        "".join(f"&#{ord(c)};" for c in s), safe=""
    ),
    "percent-encoded html references without ;": lambda s: urllib.parse.quote(
        "".join(f"&#{ord(c)}" for c in s), safe=""
    ),
    "html-escaped percent": lambda s: html.escape(_percent_all(s)).replace("%", "&#37;"),
    "json of json escapes": lambda s: _json_all(s).replace("\\", "\\\\"),
    "percent-encoded surrogate pairs": lambda s: urllib.parse.quote(json.dumps(s)[1:-1], safe=""),
    "percent-encoded named references": lambda s: urllib.parse.quote(html.escape(s), safe=""),
}
CUT_SECRETS = (API_KEY, 'p&ss"w<rd>\u00e9/+=9')


@pytest.mark.parametrize("encoding", list(TWO_LAYERS))
@pytest.mark.parametrize("secret", CUT_SECRETS)
def test_an_excerpt_cut_inside_two_layers_keeps_no_piece_of_a_secret(
    encoding: str, secret: str
) -> None:
    echo = TWO_LAYERS[encoding](secret)
    for cut in range(1, len(echo) + 1):  # the 4096-byte limit falls at every position
        body = (" " * (4096 - cut) + echo + " tail").encode()
        error = error_from_response(
            502, body, method="DELETE", url="https://x/y", secrets=(secret,)
        )
        shown = _reveal(html.unescape(_reveal(error.body_excerpt)))
        piece = 3
        for i in range(len(secret) - piece + 1):
            assert secret[i : i + piece] not in shown, (cut, error.body_excerpt)


# ------------------------------------------- a client's secret passed as an argument

KEY_CALLS: dict[str, Callable[[aiomsg.EightByEight, str], Awaitable[object]]] = {
    "sub-account id": lambda c, v: c.sms.cancel_message(v, UMID),
    "umid": lambda c, v: c.sms.cancel_message("sub-1", v),
    "batch id": lambda c, v: c.chatapps.cancel_batch("sub-1", v),
    "account id": lambda c, v: c.chatapps.delete_whatsapp_flow(v, "ch", "fl"),
}
TOKEN_VALUES = {"token": TOKEN, "user:password": PAIR, "password": PASSWORD}


@pytest.mark.parametrize("call", list(KEY_CALLS))
async def test_a_client_masks_its_key_given_where_an_id_belongs(call: str) -> None:
    async with aiomsg.EightByEight(api_key=API_KEY, sms_url="http://127.0.0.1:9") as client:
        with pytest.raises(aiomsg.ValidationError) as info:
            await KEY_CALLS[call](client, API_KEY)
        report = await client.sms.cancel_messages("sub-1", [API_KEY])
    assert_hidden([str(info.value), repr(info.value), pickle.dumps(info.value).decode("latin-1")])
    assert API_KEY not in str(info.value)
    assert "***" in str(info.value)
    (outcome,) = report.outcomes
    assert API_KEY not in str(outcome.error)


@pytest.mark.parametrize("value", list(TOKEN_VALUES))
async def test_a_client_masks_its_token_given_where_an_id_belongs(value: str) -> None:
    async with aiomsg.Revicom(token=TOKEN, base_url="http://127.0.0.1:9") as client:
        with pytest.raises(aiomsg.ValidationError) as info:
            await client.stop_batch([TOKEN_VALUES[value]])
    for secret in REVICOM_SECRETS.values():
        assert secret not in str(info.value)


def test_a_client_s_secret_is_masked_only_while_the_client_lives() -> None:
    key = "only-while-alive-key-7"
    client = aiomsg.EightByEight(api_key=key)
    assert redact_text(f"got {key}") == "got ***"
    del client
    gc.collect()
    assert redact_text(f"got {key}") == f"got {key}"
