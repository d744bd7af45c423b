"""The edges of the masking rule: charsets that are not text, the process-wide
registry of client secrets (what it holds, for how long, from many threads), secrets
no UTF-8 encoder takes, and text full of "&" that must stay cheap and unchanged."""

from __future__ import annotations

import base64
import gc
import threading

import pytest

import aiomsg
from aiomsg import _redact
from aiomsg._errors import error_from_response, redact_text

KEY = "k3y-Zq8xT2vLm9-held"


class Owner:
    """Anything a client could be: it holds secrets while it lives."""


@pytest.mark.parametrize(
    "charset",
    ["rot13", "hex", "base64", "zlib", "bz2", "uu", "quopri", "punycode", "undefined", "nope"],
)
@pytest.mark.parametrize(
    "body", [b"<html>upstream failed</html>", b'{"code": 2000, "message": "bad"}', b"\xff\xfe\x00"]
)
def test_a_charset_that_is_not_text_reads_the_body_as_bytes_of_text(
    charset: str, body: bytes
) -> None:
    exc = error_from_response(
        500, body + KEY.encode(), method="POST", url="https://x", secrets=(KEY,),
        content_type=f"text/html; charset={charset}",
    )  # fmt: skip
    assert isinstance(exc, aiomsg.APIStatusError)
    assert KEY not in str(exc)
    assert KEY not in repr(exc.args)


def test_only_long_forms_of_a_client_secret_are_held() -> None:
    """A Revicom token for user ``api``: its password and the pair are masked in
    every error of the process, the short user part only in its own client's."""
    token = base64.b64encode(b"api:Zq8xT2vLm9").decode()
    revicom = aiomsg.Revicom(token=token)
    try:
        assert redact_text("Invalid text for the api user") == "Invalid text for the api user"
        assert "Zq8xT2vLm9" not in redact_text("the id Zq8xT2vLm9 is not a uuid")
        assert "api" not in redact_text("api:Zq8xT2vLm9 echoed", (token,)).replace("***", "")
    finally:
        del revicom
        gc.collect()


def test_clients_sharing_a_key_hold_its_forms_once_and_release_them_last() -> None:
    first, second = Owner(), Owner()
    _redact.hold_secrets(first, (KEY,))
    held = len(_redact._held)
    _redact.hold_secrets(second, (KEY,))
    assert len(_redact._held) == held  # the same forms, not twice
    del first
    gc.collect()
    assert KEY in _redact._held
    assert "***" in redact_text(f"id {KEY} given")
    del second
    gc.collect()
    assert KEY not in _redact._held
    assert KEY in redact_text(f"id {KEY} given")


def test_holding_and_releasing_from_many_threads_keeps_every_live_secret() -> None:
    live: list[list[Owner]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def work(t: int) -> None:
        start.wait(timeout=10)
        for r in range(60):  # bounded: 60 owners a thread, half of them released
            owner = Owner()
            _redact.hold_secrets(owner, (f"secret-{t}-{r}-xxxxxxxx",))
            live[t].append(owner)
            if r % 2:
                live[t].pop(0)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    gc.collect()
    for owners in live:
        for owner in owners:
            for form in _redact._HELD[id(owner)]:
                assert form in _redact._held
    expected = {form for forms in _redact._HELD.values() for form in forms}
    assert set(_redact._held) == expected
    live.clear()
    gc.collect()


def test_a_secret_no_utf8_encoder_takes_is_still_masked() -> None:
    secret = "ab\ud800cdefgh"
    assert aiomsg.redact(f"token {secret} here", (secret,)) == "token *** here"


@pytest.mark.parametrize(
    "text",
    ["&a" * 500, "&" + "x" * 31 + " and more", "R&D & more &c", "a &notaname; b", "&#; &#x;"],
)
def test_text_with_ampersands_that_encode_nothing_is_left_as_it_is(text: str) -> None:
    assert redact_text(text, (KEY,)) == text


@pytest.mark.parametrize(
    "echo", ["p&amp;ss-w0rd-held", "p&ampss-w0rd-held", "p&#38;ss-w0rd-held", "p&AMP;ss-w0rd-held"]
)
def test_a_secret_behind_a_named_or_bare_reference_is_masked(echo: str) -> None:
    assert redact_text(f"got {echo} back", ("p&ss-w0rd-held",)) == "got *** back"


@pytest.mark.parametrize("digit", ["9", "\u0669"])  # ASCII and Arabic-Indic nine
def test_a_long_run_of_digits_is_masked_once_from_its_start(digit: str) -> None:
    """Matching starts only where a run of digits starts (it once restarted at every
    digit of a run of non-ASCII ones, which is quadratic in the run's length)."""
    run = digit * 10_000
    assert redact_text(f"x {run} y") == f"x ***{digit * 4} y"
    assert redact_text(f"x {run}a") == f"x {run}a"  # inside a word: not a number
