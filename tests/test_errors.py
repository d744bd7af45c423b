"""The error tree and the one function that turns an error answer into an exception."""

from __future__ import annotations

import pickle
from typing import Any

import msgspec
import pytest

import aiomsg
from aiomsg._errors import error_from_response
from aiomsg._redact import EXCERPT_LIMIT

URL = "https://sms.8x8.com/api/v1/subaccounts/acme-sub_01/messages/3fa85f64-5717-4562-b3fc-2c963f66afa6"


def from_body(status: int, body: bytes, **kwargs: Any) -> aiomsg.APIStatusError:
    return error_from_response(status, body, method="DELETE", url=URL, **kwargs)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, aiomsg.BadRequestError),
        (401, aiomsg.AuthenticationError),
        (403, aiomsg.PermissionDeniedError),
        (404, aiomsg.NotFoundError),
        (409, aiomsg.ConflictError),
        (410, aiomsg.GoneError),
        (422, aiomsg.UnprocessableEntityError),
        (426, aiomsg.TLSVersionError),
        (429, aiomsg.RateLimitError),
        (500, aiomsg.InternalServerError),
        (502, aiomsg.InternalServerError),
        (503, aiomsg.InternalServerError),
        (504, aiomsg.InternalServerError),
        (418, aiomsg.APIStatusError),
        (301, aiomsg.APIStatusError),
        (302, aiomsg.APIStatusError),
        (307, aiomsg.APIStatusError),
    ],
)
def test_each_status_has_its_class(status: int, cls: type[aiomsg.APIStatusError]) -> None:
    exc = from_body(status, b"")
    assert type(exc) is cls
    assert exc.status_code == status
    assert (exc.method, exc.url) == ("DELETE", URL)
    assert f"HTTP {status}" in str(exc)


def test_code_1014_means_tls_whatever_the_status() -> None:
    exc = from_body(400, b'{"code": 1014, "message": "TLS 1.3+ is required"}')
    assert type(exc) is aiomsg.TLSVersionError
    assert exc.status_code == 400
    assert exc.message == "TLS 1.3+ is required"
    assert "TLS 1.3" in str(exc)
    assert "minimum_version" in str(exc)


def test_tls_error_without_a_body_still_explains() -> None:
    exc = from_body(426, b"")
    assert type(exc) is aiomsg.TLSVersionError
    assert "TLS 1.3" in exc.message


def test_full_error_body() -> None:
    body = (
        b'{"code":1300,"message":"Message not found.",'
        b'"errorId":"1949a467-2db1-ea11-afa9-00155db6eaf4","timestamp":"2020-06-18T06:31:58.11Z"}'
    )
    exc = from_body(404, body)
    assert (exc.code, exc.message) == (1300, "Message not found.")
    assert exc.error_id == "1949a467-2db1-ea11-afa9-00155db6eaf4"
    assert exc.timestamp == "2020-06-18T06:31:58.11Z"
    assert exc.body_excerpt == ""
    text = str(exc)
    for part in ("Message not found.", "HTTP 404", "code 1300", exc.error_id, "DELETE", URL):
        assert part in text


def test_unknown_fields_in_an_error_body_are_ignored() -> None:
    exc = from_body(400, b'{"code": 3013, "message": "Too much messages", "details": [1, 2]}')
    assert (type(exc), exc.code, exc.message) == (aiomsg.BadRequestError, 3013, "Too much messages")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"code": "1300", "message": "m"}', 1300),
        (b'{"code": " 1300 ", "message": "m"}', 1300),
        (b'{"code": "E13", "message": "m"}', None),
        (b'{"code": null, "message": "m"}', None),
    ],
)
def test_code_given_as_a_string(body: bytes, code: int | None) -> None:
    exc = from_body(404, body)
    assert type(exc) is aiomsg.NotFoundError
    assert exc.code == code
    assert exc.message == "m"


def test_missing_fields() -> None:
    exc = from_body(401, b'{"code": 1200}')
    assert type(exc) is aiomsg.AuthenticationError
    assert exc.code == 1200
    assert exc.error_id is None
    assert exc.timestamp is None
    assert exc.message == aiomsg.AuthenticationError.default_message
    # Without a provider message the body is kept as an excerpt for diagnosis.
    assert exc.body_excerpt == '{"code": 1200}'


ODD_BODIES = {
    "empty": (b"", ""),
    "html": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "<html><body><h1>502"),
    "truncated-json": (b'{"code": 1300, "message": "Message n', '{"code": 1300, "message'),
    "non-json": (b"upstream connect error", "upstream connect error"),
    "json-array": (b"[1, 2, 3]", "[1, 2, 3]"),
    "json-null": (b"null", "null"),
    "json-string": (b'"oops"', '"oops"'),
    "bad-utf8": (b"\xff\xfe broken \xc3", "broken"),
    "message-not-a-string": (b'{"code": 1300, "message": {"en": "x"}}', '"message": {"en"'),
}


@pytest.mark.parametrize("status", [400, 404, 500, 503])
@pytest.mark.parametrize(("body", "excerpt_part"), ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_odd_bodies_still_give_the_status_class(
    status: int, body: bytes, excerpt_part: str
) -> None:
    exc = from_body(status, body)
    assert exc.status_code == status
    assert type(exc) is {400: aiomsg.BadRequestError, 404: aiomsg.NotFoundError}.get(
        status, aiomsg.InternalServerError
    )
    assert exc.code is None or exc.code == 1300
    assert excerpt_part in exc.body_excerpt
    assert len(exc.body_excerpt) <= EXCERPT_LIMIT
    if body:
        assert repr(exc.body_excerpt) in str(exc)


def test_long_bodies_are_cut_short() -> None:
    exc = from_body(500, b"<html>" + b"x" * 100_000 + b"</html>")
    assert len(exc.body_excerpt) <= EXCERPT_LIMIT
    assert exc.body_excerpt.endswith("...")
    assert len(str(exc)) < EXCERPT_LIMIT + 300


def test_excerpt_collapses_whitespace() -> None:
    exc = from_body(502, b"<html>\n\n  <p>Bad\r\n\tGateway</p>\n</html>\n")
    assert exc.body_excerpt == "<html> <p>Bad Gateway</p> </html>"


def test_redirect_message() -> None:
    exc = from_body(301, b"<html>Moved</html>")
    assert type(exc) is aiomsg.APIStatusError
    assert "redirect" in exc.message.lower()
    assert "not followed" in exc.message


def test_rate_limit_error_keeps_retry_after() -> None:
    exc = from_body(429, b"", retry_after=1.5)
    assert isinstance(exc, aiomsg.RateLimitError)
    assert exc.retry_after == 1.5


@pytest.mark.parametrize(
    "status", [400, 404, 500], ids=["bad-request", "not-found", "server-error"]
)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"<html><h1>Oops</h1></html>", "text/html"),
        (b'{"code": 13', "application/json"),
        (b'{"code": "1300"}', "application/json"),
    ],
    ids=["empty", "html", "truncated", "code-as-string"],
)
async def test_odd_error_bodies_through_a_real_call(
    eight: aiomsg.EightByEight, mock_http: Any, status: int, body: bytes, content_type: str
) -> None:
    mock_http.delete(URL, status=status, body=body, content_type=content_type)
    with pytest.raises(aiomsg.APIStatusError) as info:
        await eight.sms.cancel_message("acme-sub_01", "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    exc = info.value
    assert exc.status_code == status
    assert type(exc) is {400: aiomsg.BadRequestError, 404: aiomsg.NotFoundError}.get(
        status, aiomsg.InternalServerError
    )
    assert (exc.method, exc.url) == ("DELETE", URL)
    assert exc.body_excerpt == body.decode()[:EXCERPT_LIMIT]


async def test_unreachable_server_is_a_connection_error(
    eight: aiomsg.EightByEight, mock_http: Any
) -> None:
    # No answer registered: the mock refuses the connection.
    with pytest.raises(aiomsg.APIConnectionError) as info:
        await eight.sms.cancel_message("acme-sub_01", "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert not isinstance(info.value, aiomsg.APIStatusError)
    assert (info.value.method, info.value.url) == ("DELETE", URL)


def test_hierarchy() -> None:
    assert issubclass(aiomsg.ValidationError, ValueError)
    assert issubclass(aiomsg.ConfigurationError, ValueError)
    for cls in (aiomsg.ValidationError, aiomsg.ConfigurationError, aiomsg.APIError):
        assert issubclass(cls, aiomsg.AiomsgError)
    for cls in (
        aiomsg.APIConnectionError,
        aiomsg.APIResponseError,
        aiomsg.APIStatusError,
        aiomsg.OutcomeUnknownError,
    ):
        assert issubclass(cls, aiomsg.APIError)
    assert issubclass(aiomsg.APITimeoutError, aiomsg.APIConnectionError)
    assert issubclass(aiomsg.TLSHandshakeError, aiomsg.APIConnectionError)
    for cls in (
        aiomsg.BadRequestError,
        aiomsg.AuthenticationError,
        aiomsg.PermissionDeniedError,
        aiomsg.NotFoundError,
        aiomsg.ConflictError,
        aiomsg.GoneError,
        aiomsg.UnprocessableEntityError,
        aiomsg.TLSVersionError,
        aiomsg.RateLimitError,
        aiomsg.InternalServerError,
    ):
        assert issubclass(cls, aiomsg.APIStatusError)


def test_validation_error_names_field_problem_and_rule() -> None:
    exc = aiomsg.ValidationError(
        "clientMessageId", "is 51 characters long", "at most 50 characters"
    )
    assert str(exc) == "clientMessageId: is 51 characters long (rule: at most 50 characters)"
    nested = exc.with_prefix("messages[3]")
    assert nested.field == "messages[3].clientMessageId"
    assert (nested.problem, nested.rule) == (exc.problem, exc.rule)
    assert exc.with_prefix("uuids").field == "uuids.clientMessageId"
    assert aiomsg.ValidationError("[2]", "p", "r").with_prefix("uuids").field == "uuids[2]"


@pytest.mark.parametrize(
    "exc",
    [
        error_from_response(
            404,
            b'{"code": 1300, "message": "Message not found.", "errorId": "e", "timestamp": "t"}',
            method="DELETE",
            url=URL,
        ),
        error_from_response(426, b'{"code": 1014, "message": "TLS"}', method="DELETE", url=URL),
        error_from_response(429, b"", method="DELETE", url=URL, retry_after=2.0),
        aiomsg.ValidationError("uuids[3]", "got 'x'", "a uuid"),
        aiomsg.ConfigurationError("No key"),
        aiomsg.OutcomeUnknownError("may have been taken", client_message_ids=["a", "b"]),
        aiomsg.APITimeoutError(method="DELETE", url=URL, request_sent=False),
        aiomsg.APIResponseError("bad body", method="DELETE", url=URL, status_code=200),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_errors_survive_pickling(exc: aiomsg.AiomsgError) -> None:
    # Process pools and task queues pickle exceptions to hand them back.
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    assert vars(copy) == vars(exc)


def test_one_odd_field_does_not_cost_the_others() -> None:
    from aiomsg._errors import error_from_response

    body = b'{"code":1014,"message":"TLS 1.3+ is required","errorId":12345,"timestamp":1592462577}'
    error = error_from_response(400, body, method="DELETE", url="https://x/y")
    assert isinstance(error, aiomsg.TLSVersionError)
    assert error.code == 1014
    assert error.message.startswith("TLS 1.3+ is required")
    assert error.error_id == "12345"
    assert error.timestamp == "1592462577"


@pytest.mark.parametrize("code", ["²", "١٠١٤", "12a", ""])
def test_codes_that_are_not_plain_ascii_digits_are_ignored(code: str) -> None:
    from aiomsg._errors import error_from_response

    body = msgspec.json.encode({"code": code, "message": "odd"})
    error = error_from_response(400, body, method="DELETE", url="https://x/y")
    assert type(error) is aiomsg.BadRequestError
    assert error.code is None


PUBLIC_ERRORS = sorted(
    (
        obj
        for obj in vars(aiomsg).values()
        if isinstance(obj, type) and issubclass(obj, BaseException)
    ),
    key=lambda cls: cls.__name__,
)


def test_there_are_public_errors_to_check() -> None:
    assert len(PUBLIC_ERRORS) >= 22
    assert aiomsg.NotFoundError in PUBLIC_ERRORS
    assert aiomsg.BulkInputError in PUBLIC_ERRORS


@pytest.mark.parametrize("cls", PUBLIC_ERRORS, ids=lambda cls: cls.__name__)
def test_public_errors_are_named_as_users_import_them(cls: type[BaseException]) -> None:
    # A traceback prints ``module.qualname``: users should read the name they import.
    assert cls.__module__ == "aiomsg"
    assert getattr(aiomsg, cls.__qualname__) is cls


def test_a_traceback_names_the_public_class() -> None:
    import traceback

    error = from_body(404, b'{"code": 1300, "message": "Message not found."}')
    try:
        raise error
    except aiomsg.NotFoundError as exc:
        text = "".join(traceback.format_exception(exc))
    assert "aiomsg.NotFoundError: Message not found." in text
    assert "_errors" not in text.splitlines()[-1]


@pytest.mark.parametrize("cls", PUBLIC_ERRORS, ids=lambda cls: cls.__name__)
def test_every_public_error_pickles_by_its_public_name(cls: type[BaseException]) -> None:
    exc = _instance_of(cls)
    data = pickle.dumps(exc, protocol=5)
    name = cls.__name__.encode()
    if cls is not aiomsg.BulkInputError:  # that one is rebuilt by a function
        assert b"\x8c\x06aiomsg\x94\x8c" + bytes([len(name)]) + name in data
    copy = pickle.loads(data)
    assert type(copy) is cls
    assert str(copy) == str(exc)


def _instance_of(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, aiomsg.APIStatusError):
        status = 429 if cls is aiomsg.RateLimitError else 500
        return cls("odd", status_code=status, code=1, error_id="e", retry_after=1.0)
    if cls is aiomsg.ValidationError:
        return cls("uuids[0]", "got 'x'", "a uuid")
    if cls is aiomsg.OutcomeUnknownError:
        return cls("may have been taken", client_message_ids=["a"])
    if cls is aiomsg.APIResponseError:
        return cls("bad body", status_code=200)
    if cls is aiomsg.BulkInputError:
        return cls("stopped", report=aiomsg.BulkReport())
    return cls("something failed")
