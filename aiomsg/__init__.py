"""aiomsg: a typed asyncio client for bulk messaging control on 8x8 CPaaS and Revicom."""

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


def _name_public_classes() -> None:
    """Tracebacks and reprs name what users import (``aiomsg.NotFoundError``), not
    the private module that defines it. Pickle finds each class here just as well.
    msgspec Structs keep their module: msgspec resolves their annotations through it.
    """
    import msgspec

    for name in __all__:
        obj = globals()[name]
        if not isinstance(obj, type):
            continue
        if issubclass(obj, BaseException) or (
            obj.__module__.startswith(f"{__name__}._") and not issubclass(obj, msgspec.Struct)
        ):
            obj.__module__ = __name__


_name_public_classes()
del _name_public_classes
