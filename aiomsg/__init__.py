"""aiomsg: a typed asyncio client for bulk messaging control on 8x8 CPaaS and Revicom."""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Final

from ._core import CallStats, RequestEvent
from ._errors import (
    AiomsgError,
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InternalServerError,
    MissingFromAnswerError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    TLSHandshakeError,
    TLSVersionError,
    UnprocessableEntityError,
    ValidationError,
    redact,
)
from ._limits import RateLimit
from ._retry import RetryBudget, RetryPolicy
from ._transport import Timeout
from ._validation import check_uuid
from ._version import __version__
from .bulk import (
    BatchRange,
    BulkInputError,
    BulkInterruptedError,
    BulkOptions,
    BulkReport,
    ItemOutcome,
    Outcome,
    OutcomeStream,
    Progress,
)

if TYPE_CHECKING:
    from .eightxeight import EightByEight
    from .eightxeight.models import (
        CancelResult,
        LineAction,
        LineContent,
        LineEmphasis,
        LineListItem,
        LineMessageResult,
        LineNotification,
        LineNotificationBatchResult,
        LineUser,
        MessageState,
        MessageStatus,
        SmsFallback,
        UserInfo,
    )
    from .revicom import Revicom
    from .revicom.models import StopCode, StopItem, StopResult

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AiomsgError",
    "AuthenticationError",
    "BadRequestError",
    "BatchRange",
    "BulkInputError",
    "BulkInterruptedError",
    "BulkOptions",
    "BulkReport",
    "CallStats",
    "CancelResult",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "EightByEight",
    "GoneError",
    "InternalServerError",
    "ItemOutcome",
    "LineAction",
    "LineContent",
    "LineEmphasis",
    "LineListItem",
    "LineMessageResult",
    "LineNotification",
    "LineNotificationBatchResult",
    "LineUser",
    "MessageState",
    "MessageStatus",
    "MissingFromAnswerError",
    "NotFoundError",
    "Outcome",
    "OutcomeStream",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "Progress",
    "RateLimit",
    "RateLimitError",
    "RequestEvent",
    "RetryBudget",
    "RetryPolicy",
    "Revicom",
    "SmsFallback",
    "StopCode",
    "StopItem",
    "StopResult",
    "TLSHandshakeError",
    "TLSVersionError",
    "Timeout",
    "UnprocessableEntityError",
    "UserInfo",
    "ValidationError",
    "__version__",
    "check_uuid",
    "redact",
]


# Each provider's names load with the provider, on first use: a program that talks to
# one provider does not load the other, and ``import aiomsg`` stays small.
_PROVIDER_NAMES: Final = {
    "EightByEight": "eightxeight",
    **dict.fromkeys(
        (
            "CancelResult",
            "LineAction",
            "LineContent",
            "LineEmphasis",
            "LineListItem",
            "LineMessageResult",
            "LineNotification",
            "LineNotificationBatchResult",
            "LineUser",
            "MessageState",
            "MessageStatus",
            "SmsFallback",
            "UserInfo",
        ),
        "eightxeight.models",
    ),
    "Revicom": "revicom",
    **dict.fromkeys(("StopCode", "StopItem", "StopResult"), "revicom.models"),
}


def _name_public(obj: object) -> None:
    """Tracebacks and reprs name what users import (``aiomsg.NotFoundError``), not
    the private module that defines it. Pickle finds each class here just as well.
    msgspec Structs keep their module: msgspec resolves their annotations through it.
    """
    import msgspec

    if not isinstance(obj, type):
        return
    if issubclass(obj, BaseException) or (
        obj.__module__.startswith(f"{__name__}._") and not issubclass(obj, msgspec.Struct)
    ):
        obj.__module__ = __name__


for _name in __all__:
    if _name not in _PROVIDER_NAMES:
        _name_public(globals()[_name])
del _name


if not TYPE_CHECKING:  # type checkers see the imports above, names typed precisely

    def __getattr__(name: str) -> object:
        module = _PROVIDER_NAMES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_import_module(f"{__name__}.{module}"), name)
        _name_public(value)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
