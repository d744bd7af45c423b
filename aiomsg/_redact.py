"""Masking: the one rule that keeps credentials and phone numbers out of what aiomsg shows.

``redact_text`` masks free text, in any encoding a server may wrap it in; ``excerpt``
turns the body of an error answer into a short, masked excerpt. Both run only on
errors, excerpts and logs, never on the path of a successful answer.
"""

from __future__ import annotations

import base64
import codecs
import functools
import html
import html.entities
import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Sequence
from typing import Final

__all__ = [
    "EXCERPT_LIMIT",
    "body_text",
    "excerpt",
    "hold_secrets",
    "redact",
    "redact_text",
    "secret_forms",
]

#: Longest excerpt of a response body kept on an error.
EXCERPT_LIMIT: Final = 200
#: How much of a body the excerpt is cut from.
_EXCERPT_SOURCE: Final = 4096

# Runs of 7+ digits (optionally after "+") look like phone numbers: keep the last 4.
# Not the fraction of a decimal number (a timestamp's "19.4297387"), nor digits inside
# an identifier (a GUID's "b4478860-...").
_MSISDN_RE: Final = re.compile(r"(?<!\d\.)(?<![0-9A-Za-z])(?<!\d)\+?\d{3,}(\d{4})\b")
# Written with separators after a "+": "+65 9123 4567", "+65-9123-4567", "+1 (555) 010-9999",
# and form-encoded, a "+" for each space: "+65+9123+4567".
_SPACED_MSISDN_RE: Final = re.compile(r"\+\d[\d\s.()+\-]{5,}\d")
_BEARER_RE: Final = re.compile(r"(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=\-]+)")
# One layer of the encodings a server may wrap text in, each read as its own decoder
# reads it: JSON escapes (\uXXXX in either case, a surrogate pair as the one character
# it stands for, \/ \" \\ and \'), percent-encoding (either case; a run of bytes is
# UTF-8) and HTML character references, numeric or named, with or without the closing
# ";" (as browsers and ``html.unescape`` read them).
# A named reference counts when it ends in ";" or begins with one of the few names
# read without it (``&amp``, ``&lt`` ...): other text after an "&" is left alone at
# regex speed, so an answer full of "&" costs no more than one without.
_BARE_NAMES: Final = "|".join(
    sorted((name for name in html.entities.html5 if not name.endswith(";")), key=len, reverse=True)
)
_ENCODED_RE: Final = re.compile(
    r"\\u([dD][89abAB][0-9A-Fa-f]{2})\\u([dD][c-fC-F][0-9A-Fa-f]{2})"
    r"|\\u([0-9A-Fa-f]{4})|\\([\\/\"'])|((?:%[0-9A-Fa-f]{2})+)"
    r"|&(#[0-9]{1,16}|#[xX][0-9A-Fa-f]{1,16}|[A-Za-z][A-Za-z0-9]{0,31}(?=;)|"
    + _BARE_NAMES
    + r")(;?)"
)
_ENCODED_MARKS: Final = ("\\", "%", "&")
#: Layers of encoding looked through (2: a percent-encoded JSON escape, and the like;
#: 3: escapes of escapes inside those, as JSON written into JSON doubles backslashes).
_LAYERS: Final = 3
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
    looked for in the text as given and after undoing up to three layers of JSON
    escapes, percent-encoding and HTML character references (mixed freely,
    character by character), and masked in the text as given: a JSON-escaped or
    percent-encoded number loses its digits just like ``+6591234567`` does.
    Credentials are masked first, numbers in what remains. ``numbers=False``
    leaves digit runs alone (a timestamp given as epoch seconds). The secrets of
    every live client (``hold_secrets``) are masked too.
    """
    text = _mask(text, _all_forms(tuple(secrets), _held), numbers=False)
    return _mask(text, (), numbers=True) if numbers else text


#: Shortest form of a client secret that ``hold_secrets`` masks in every error of the
#: process: shorter ones (a Basic token's user part, say) would mask ordinary words.
_MIN_HELD: Final = 8
_HELD_LOCK: Final = threading.Lock()
# The forms each live client holds, by the client's id(); how many clients hold each
# form; and those forms, longest first (rebuilt under the lock when they change).
_HELD: dict[int, tuple[str, ...]] = {}
_HOLDERS: dict[str, int] = {}
_held: tuple[str, ...] = ()


def hold_secrets(owner: object, secrets: Sequence[str]) -> None:
    """Mask ``secrets`` in all text masked in this process, for as long as ``owner`` lives.

    A client's credential may reach an error through the caller's own arguments (an
    API key given where an id belongs): validation knows nothing of clients, so each
    client hands its credentials here once, and ``redact_text`` masks them with its
    own. Only forms of 8 characters or more are held (a Basic token's short user
    part is left to its own client's errors); clients sharing a key share its forms.
    """
    forms = tuple(f for f in _forms_of(tuple(secrets)) if len(f) >= _MIN_HELD)
    key = id(owner)
    with _HELD_LOCK:
        _drop(key)
        _HELD[key] = forms
        for form in forms:
            _HOLDERS[form] = _HOLDERS.get(form, 0) + 1
        _rebuild()
    weakref.finalize(owner, _release, key)


def _release(key: int) -> None:
    with _HELD_LOCK:
        _drop(key)
        _rebuild()


def _drop(key: int) -> None:
    for form in _HELD.pop(key, ()):
        left = _HOLDERS[form] - 1
        if left:
            _HOLDERS[form] = left
        else:
            del _HOLDERS[form]


def _rebuild() -> None:
    global _held
    held = tuple(sorted(_HOLDERS, key=len, reverse=True))
    if held != _held:
        _held = held


@functools.lru_cache(maxsize=64)
def _all_forms(secrets: tuple[str, ...], held: tuple[str, ...]) -> tuple[str, ...]:
    """A call's own secrets' forms and every held form, longest first."""
    if not held:
        return _forms_of(secrets)
    return tuple(sorted({*_forms_of(secrets), *held}, key=len, reverse=True))


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
        if depth == _LAYERS or not _encoded(layer):
            break
        layer, spans = _decode_layer(layer, spans)
    return _apply(text, cuts) if cuts else text


def _encoded(text: str) -> bool:
    """Whether ``text`` holds an escape, a percent-encoded byte or a reference."""
    return any(mark in text for mark in _ENCODED_MARKS) and _ENCODED_RE.search(text) is not None


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

    def keep(start: int, end: int) -> None:  # a run of plain text, at C speed
        if start < end:
            out.append(text[start:end])
            if spans is None:
                out_spans.extend(zip(range(start, end), range(start + 1, end + 1), strict=True))
            else:
                out_spans.extend(spans[start:end])

    pos = 0
    for m in _ENCODED_RE.finditer(text):
        keep(pos, m.start())
        pos = m.end()
        high, low, hex4, escaped, percent, ref, semicolon = m.groups()
        if percent is not None:
            _emit_percent(percent, m.start(), emit)
        elif escaped is not None:
            emit(escaped, m.start(), m.end())
        elif high is not None:
            pair = (int(high, 16) - 0xD800) * 0x400 + (int(low, 16) - 0xDC00) + 0x10000
            emit(chr(pair), m.start(), m.end())
        elif hex4 is not None:
            emit(chr(int(hex4, 16)), m.start(), m.end())
        else:
            pos = _emit_reference(text, m.start(), ref, semicolon, emit)
    keep(pos, len(text))
    return "".join(out), out_spans


def _emit_reference(
    text: str, start: int, ref: str, semicolon: str, emit: Callable[[str, int, int], None]
) -> int:
    """An HTML reference at ``start``, read as ``html.unescape`` reads it; returns
    where the text after it begins."""
    end = start + 1 + len(ref) + len(semicolon)
    if ref.startswith("#") or ref + semicolon in html.entities.html5:
        emit(html.unescape(text[start:end]), start, end)
        return end
    # A name without ";" (or an unknown one) stands for its longest known prefix.
    for k in range(len(ref), 0, -1):
        if ref[:k] in html.entities.html5:
            emit(html.entities.html5[ref[:k]], start, start + 1 + k)
            return start + 1 + k
    emit("&", start, start + 1)
    return start + 1


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
    # A server may hand back text normalised either way (macOS and some stores keep
    # NFD): a non-ASCII secret is looked for in both forms.
    forms |= {unicodedata.normalize(nf, form) for form in forms for nf in ("NFC", "NFD")}
    # Longest first: a form inside another then masks only what the longer one missed.
    return tuple(sorted(forms, key=len, reverse=True))


def secret_forms(secret: str) -> tuple[str, ...]:
    """The forms of a credential a server may echo, each masked on its own.

    The secret itself; as base64 (a Basic token), also without its ``=`` padding
    and in the URL-safe alphabet; and when it decodes to ``user:password``, that
    pair, the pair with ``+`` for a space (form encoding), and each part of at
    least three characters. A secret in clear (an API key, the pair, each part)
    is also looked for base64-encoded, alone or inside a longer encoded text
    (``user:key`` with any user): see ``_base64_cores``.
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
        clear = [pair, user, password]
    else:
        clear = [secret]
    for text in clear:
        whole = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        forms += [whole, whole.translate(_URLSAFE), whole.rstrip("=")]
        forms += _base64_cores(text)
    return tuple(dict.fromkeys(forms))


#: Shortest base64 run looked for: shorter runs would mask ordinary words.
_MIN_BASE64: Final = 8


def _base64_cores(text: str) -> list[str]:
    """The base64 characters that ``text`` alone decides, at each of the three byte
    offsets it can start at inside a longer encoded string, in both alphabets.

    Each base64 character holds 6 bits; those whose bits all come from ``text``
    are the same whatever surrounds it, so ``user:key`` encoded with an unknown
    user still holds the key's core at one of the three offsets.
    """
    data = text.encode("utf-8", "surrogatepass")
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data + bytes(2)).decode("ascii")
        first = -(-8 * offset // 6)  # the first character with none of the prefix's bits
        last = 8 * (offset + len(data)) // 6  # past the last with none of the suffix's
        core = encoded[first:last]
        if len(core) >= _MIN_BASE64:
            cores += [core, core.translate(_URLSAFE)]
    return cores


_URLSAFE: Final = str.maketrans("+/", "-_")


def excerpt(body: bytes, secrets: Sequence[str], content_type: str | None = None) -> str:
    """A short, masked excerpt of an error answer's body.

    The body is decoded by its byte-order mark, the ``charset`` of ``content_type``,
    or the pattern of zero bytes that UTF-16 and UTF-32 text has (in that order),
    else as UTF-8; text that is not valid in that encoding is read as cp1252, which
    every byte decodes in. Masking then runs on that text, so a credential echoed in
    UTF-16 or Latin-1 is caught like one in UTF-8.
    """
    text, codec = body_text(body[:_EXCERPT_SOURCE], content_type)
    # Zero bytes and other control characters show as nothing, and would let a
    # credential interleaved with them read as the credential itself.
    text = _CONTROL_RE.sub("", text)
    forms = _all_forms(tuple(secrets), _held)
    if codec != "utf-8" and forms:
        # The secret as its UTF-8 bytes, seen through the encoding shown here.
        misread = {
            form.encode("utf-8", "surrogatepass").decode(codec, "replace")
            for form in forms
            if not form.isascii()
        }
        forms = tuple(sorted(set(forms) | misread, key=len, reverse=True))
    if len(body) > _EXCERPT_SOURCE:
        # However much masking and squeezing shrink the text, no piece of a credential
        # cut in two may come into view.
        text = _without_cut_secret(text, forms)
    text = _mask(text, forms, numbers=False)
    text = " ".join(_mask(text, (), numbers=True).split())
    if len(text) > EXCERPT_LIMIT:
        text = text[: EXCERPT_LIMIT - 3] + "..."
    return text


_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CHARSET_RE: Final = re.compile(r"(?i)charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)")
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def body_text(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """``data`` decoded as ``excerpt`` says, and the codec that decoded it.

    ``data`` may end in the middle of a character (a body cut at a byte limit):
    that piece is left out rather than shown as a replacement character.
    """
    codec = _codec_of(data, content_type)
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        text = decoder.decode(data, final=False)
    except Exception:  # a server's bytes and charset: nothing they hold may escape
        text = None
    if type(text) is not str:
        return data.decode("cp1252", "replace"), "cp1252"
    return text, _utf8_or(codec)


def _utf8_or(codec: str) -> str:
    return "utf-8" if codec in ("utf-8", "utf-8-sig", "ascii") else codec


def _codec_of(data: bytes, content_type: str | None) -> str:
    for bom, codec in _BOMS:
        # Text in UTF-16 or UTF-32 that an error page holds is mostly ASCII, so it has
        # zero bytes: without any, \xff\xfe is more likely junk than a byte-order mark.
        if data.startswith(bom) and (codec == "utf-8-sig" or b"\0" in data[len(bom) :]):
            return codec
    declared = _CHARSET_RE.search(content_type) if content_type else None
    if declared is not None:
        try:
            info = codecs.lookup(declared.group(1))
        except LookupError:
            info = None
        # Only a text encoding names a charset (not rot13, base64, zlib ...).
        codec = info.name if info is not None and info._is_text_encoding else ""
        if codec and codec not in ("utf-16", "utf-32"):
            return codec
    # No BOM: text starts with an ASCII character in practice, whose zero bytes give
    # the width and the byte order away (as RFC 4627 reads JSON).
    head = data[:4]
    if len(head) == 4 and head[:3] == b"\0\0\0" and head[3]:
        return "utf-32-be"
    if len(head) == 4 and head[0] and head[1:] == b"\0\0\0":
        return "utf-32-le"
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be"
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le"
    return "utf-8"


# What the end of a cut text may hold that is the start of an escape, a reference, a
# UTF-8 sequence or a surrogate pair: none of it can be read yet, so none is kept.
_CUT_TAIL_RE: Final = re.compile(
    r"(?:\\+(?:u[0-9A-Fa-f]{0,3})?|\\u[dD][89abAB][0-9A-Fa-f]{2}|%[0-9A-Fa-f]?"
    r"|(?:%[89A-Fa-f][0-9A-Fa-f])+|&#?[0-9A-Za-z]{0,32};?|[\ud800-\udbff])$"
)


def _uncut_length(layer: str) -> int:
    """How much of ``layer`` is left once every escape cut short at its end is gone."""
    end = len(layer)
    for _ in range(8):  # each round removes one piece; a few pieces at most nest
        m = _CUT_TAIL_RE.search(layer, 0, end)
        if m is None or m.start() == end:
            break
        end = m.start()
    return end


def _without_cut_secret(text: str, forms: tuple[str, ...]) -> str:
    """``text`` without a tail that begins one of ``forms``, in any encoding.

    At every layer of decoding, a piece of an escape cut short at the end is
    dropped first, then any ending that is the start of a form.
    """
    if not forms:
        return text
    layer, spans = text, None
    end = len(text)
    for depth in range(_LAYERS + 1):
        keep = _uncut_length(layer)
        if keep < len(layer):
            end = min(end, keep if spans is None else spans[keep][0])
            layer, spans = layer[:keep], None if spans is None else spans[:keep]
        for form in forms:
            for k in range(min(len(form) - 1, len(layer)), 0, -1):
                if layer.endswith(form[:k]):
                    start = len(layer) - k
                    end = min(end, start if spans is None else spans[start][0])
                    break
        if depth == _LAYERS or not _encoded(layer):
            break
        layer, spans = _decode_layer(layer, spans)
    return text[:end]
