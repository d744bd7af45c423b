"""Masking: the one rule that keeps credentials and phone numbers out of what aiomsg shows.

``redact_text`` masks free text, in any encoding a server may wrap it in; ``excerpt``
turns the body of an error answer into a short, masked excerpt. Both run only on
errors, excerpts and logs, never on the path of a successful answer.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Sequence
from typing import Final

__all__ = ["EXCERPT_LIMIT", "excerpt", "redact", "redact_text", "secret_forms"]

#: Longest excerpt of a response body kept on an error.
EXCERPT_LIMIT: Final = 200
#: How much of a body the excerpt is cut from.
_EXCERPT_SOURCE: Final = 4096

# Runs of 7+ digits (optionally after "+") look like phone numbers: keep the last 4.
# Not the fraction of a decimal number (a timestamp's "19.4297387"), nor digits inside
# an identifier (a GUID's "b4478860-...").
_MSISDN_RE: Final = re.compile(r"(?<!\d\.)(?<![0-9A-Za-z])\+?\d{3,}(\d{4})\b")
# Written with separators after a "+": "+65 9123 4567", "+65-9123-4567", "+1 (555) 010-9999",
# and form-encoded, a "+" for each space: "+65+9123+4567".
_SPACED_MSISDN_RE: Final = re.compile(r"\+\d[\d\s.()+\-]{5,}\d")
_BEARER_RE: Final = re.compile(r"(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=\-]+)")
# One layer of the encodings a server may wrap text in: JSON escapes (\uXXXX in either
# case, \/ \" \\; a run of backslashes counts as one, as escapes of escapes and reprs
# of reprs double them), percent-encoding (either case; a run of bytes is UTF-8) and
# HTML numeric references.
_ENCODED_RE: Final = re.compile(
    r"\\+u([0-9A-Fa-f]{4})|\\+([\\/\"'])|((?:%[0-9A-Fa-f]{2})+)"
    r"|&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));"
)
_ENCODED_MARKS: Final = ("\\", "%", "&#")
#: Layers of encoding looked through (2: a percent-encoded JSON escape, and the like).
_LAYERS: Final = 2
#: Shortest user or password part of a Basic token masked on its own.
_MIN_PART: Final = 3

# A span of the original text, and what replaces it.
_Cut = tuple[int, int, str]


def redact_text(text: str, secrets: Sequence[str] = (), *, numbers: bool = True) -> str:
    """Mask credentials and phone numbers in free text, in any encoding they arrive in.

    The one rule for every string aiomsg keeps or shows from an answer (and from
    input it echoes): each of ``secrets`` (the client's credentials, with the forms
    ``secret_forms`` derives) and anything after ``Bearer``/``Basic`` becomes
    ``***``; a run of 7+ digits becomes ``***`` and its last four. Matches are
    looked for in the text as given and after undoing up to two layers of JSON
    escapes, percent-encoding and HTML numeric references (mixed freely, character
    by character), and masked in the text as given: a JSON-escaped or
    percent-encoded number loses its digits just like ``+6591234567`` does.
    Credentials are masked first, numbers in what remains. ``numbers=False``
    leaves digit runs alone (a timestamp given as epoch seconds).
    """
    text = _mask(text, _forms_of(tuple(secrets)), numbers=False)
    return _mask(text, (), numbers=True) if numbers else text


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Mask phone numbers and credentials in ``text``, as aiomsg does in its errors.

    Anything after ``Bearer``/``Basic`` and each of ``secrets`` becomes ``***``; a
    run of 7 or more digits (a phone number, written with or without separators
    after ``+``) becomes ``***`` and its last four. Forms a server may echo them in
    (JSON escapes, percent-encoding) are masked too. For text your program shows or
    logs that may hold what a user typed, such as a bad input line.
    """
    return redact_text(text, secrets)


def _mask(text: str, forms: tuple[str, ...], *, numbers: bool) -> str:
    """One masking pass: credentials (``numbers`` False) or numbers (True)."""
    cuts: list[_Cut] = []
    layer = text
    spans: list[tuple[int, int]] | None = None  # None: the identity (layer 0)
    for depth in range(_LAYERS + 1):
        _find(layer, spans, forms, cuts, numbers)
        if depth == _LAYERS or not any(mark in layer for mark in _ENCODED_MARKS):
            break
        layer, spans = _decode_layer(layer, spans)
    return _apply(text, cuts) if cuts else text


def _find(
    layer: str,
    spans: list[tuple[int, int]] | None,
    forms: tuple[str, ...],
    cuts: list[_Cut],
    numbers: bool,
) -> None:
    """Add the cuts for every match in ``layer``, in the original text's positions."""

    def cut(start: int, end: int, replacement: str) -> None:
        if start < end:
            if spans is None:
                cuts.append((start, end, replacement))
            else:
                cuts.append((spans[start][0], spans[end - 1][1], replacement))

    for form in forms:
        at = layer.find(form)
        while at >= 0:
            cut(at, at + len(form), "***")
            at = layer.find(form, at + 1)
    if not numbers:
        for m in _BEARER_RE.finditer(layer):
            cut(m.start(1), m.end(1), "***")
        return
    for m in _SPACED_MSISDN_RE.finditer(layer):
        digits = "".join(ch for ch in m.group(0) if ch.isdigit())
        if len(digits) >= 7:
            cut(m.start(), m.end(), "***" + digits[-4:])
    for m in _MSISDN_RE.finditer(layer):
        cut(m.start(), m.end(), "***" + m.group(1))


def _decode_layer(
    text: str, spans: list[tuple[int, int]] | None
) -> tuple[str, list[tuple[int, int]]]:
    """Undo one layer of encoding; each character keeps the original span it came from."""
    out: list[str] = []
    out_spans: list[tuple[int, int]] = []

    def span(start: int, end: int) -> tuple[int, int]:
        return (start, end) if spans is None else (spans[start][0], spans[end - 1][1])

    def emit(chars: str, start: int, end: int) -> None:
        out.append(chars)
        whole = span(start, end)
        out_spans.extend([whole] * len(chars))

    pos = 0
    for m in _ENCODED_RE.finditer(text):
        for i in range(pos, m.start()):
            emit(text[i], i, i + 1)
        pos = m.end()
        hex4, escaped, percent, html_hex, html_dec = m.groups()
        if percent is not None:
            _emit_percent(percent, m.start(), emit)
            continue
        if escaped is not None:
            emit(escaped, m.start(), m.end())
            continue
        code = int(hex4 or html_hex or "", 16) if (hex4 or html_hex) else int(html_dec)
        if code > 0x10FFFF:
            for i in range(m.start(), m.end()):
                emit(text[i], i, i + 1)
        else:
            emit(chr(code), m.start(), m.end())
    for i in range(pos, len(text)):
        emit(text[i], i, i + 1)
    return "".join(out), out_spans


def _emit_percent(run: str, start: int, emit: Callable[[str, int, int], None]) -> None:
    """A run of ``%XX``: UTF-8 where it decodes, one character per byte where not."""
    data = bytes(int(run[i + 1 : i + 3], 16) for i in range(0, len(run), 3))
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        decoded = data.decode("latin-1")
        for i, ch in enumerate(decoded):
            emit(ch, start + 3 * i, start + 3 * i + 3)
        return
    at = start
    for ch in decoded:
        width = 3 * len(ch.encode("utf-8"))
        emit(ch, at, at + width)
        at += width


def _apply(text: str, cuts: list[_Cut]) -> str:
    """Replace the cut spans; overlapping cuts merge (the wider one's text wins)."""
    cuts.sort(key=lambda c: (c[0], -c[1]))
    merged: list[_Cut] = []
    for start, end, replacement in cuts:
        if merged and start < merged[-1][1]:
            p_start, p_end, _ = merged[-1]
            if end > p_end:
                merged[-1] = (p_start, end, "***")
            continue
        merged.append((start, end, replacement))
    parts: list[str] = []
    pos = 0
    for start, end, replacement in merged:
        parts.append(text[pos:start])
        parts.append(replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@functools.lru_cache(maxsize=64)
def _forms_of(secrets: tuple[str, ...]) -> tuple[str, ...]:
    forms = {form for secret in secrets for form in secret_forms(secret)}
    # Longest first: a form inside another then masks only what the longer one missed.
    return tuple(sorted(forms, key=len, reverse=True))


def secret_forms(secret: str) -> tuple[str, ...]:
    """The forms of a credential a server may echo, each masked on its own.

    The secret itself; as base64 (a Basic token), also without its ``=`` padding
    and in the URL-safe alphabet; and when it decodes to ``user:password``, that
    pair, the pair with ``+`` for a space (form encoding), and each part of at
    least three characters.
    """
    if not secret:
        return ()
    forms = [secret]
    unpadded = secret.rstrip("=")
    if len(unpadded) >= 8 and unpadded != secret:
        forms.append(unpadded)
    urlsafe = unpadded.translate(_URLSAFE)
    if urlsafe != unpadded:
        forms.append(urlsafe)
    try:
        pair = base64.b64decode(secret, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        pair = ""
    if ":" in pair and pair.isprintable():
        user, _, password = pair.partition(":")
        forms += [pair, pair.replace(" ", "+")]
        forms += [part for part in (user, password) if len(part) >= _MIN_PART]
        forms += [password.replace(" ", "+")] if len(password) >= _MIN_PART else []
    return tuple(dict.fromkeys(forms))


_URLSAFE: Final = str.maketrans("+/", "-_")


def excerpt(body: bytes, secrets: Sequence[str]) -> str:
    """A short, masked excerpt of an error answer's body."""
    text = body[:_EXCERPT_SOURCE].decode("utf-8", "replace")
    if len(body) > _EXCERPT_SOURCE:
        # However much masking and squeezing shrink the text, no piece of a credential
        # cut in two may come into view.
        text = _without_cut_secret(text, secrets)
    text = " ".join(redact_text(text, secrets).split())
    if len(text) > EXCERPT_LIMIT:
        text = text[: EXCERPT_LIMIT - 3] + "..."
    return text


# An escape or reference cut short by the end of the text.
_CUT_ESCAPE_RE: Final = re.compile(
    r"(?:\\+(?:u[0-9A-Fa-f]{0,3})?|%[0-9A-Fa-f]?|&#?[xX]?[0-9A-Fa-f]*)$"
)


def _without_cut_secret(text: str, secrets: Sequence[str]) -> str:
    """``text`` without a tail that begins one of ``secrets``' forms, in any encoding."""
    forms = _forms_of(tuple(secrets))
    if not forms:
        return text
    text = _CUT_ESCAPE_RE.sub("", text)
    layer, spans = text, None
    end = len(text)
    for depth in range(_LAYERS + 1):
        for form in forms:
            for k in range(min(len(form) - 1, len(layer)), 0, -1):
                if layer.endswith(form[:k]):
                    start = len(layer) - k
                    end = min(end, start if spans is None else spans[start][0])
                    break
        if depth == _LAYERS:
            break
        layer, spans = _decode_layer(layer, spans)
    return text[:end]
