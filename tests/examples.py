"""Example payloads from the providers' API pages, shared by the endpoint tests."""

from __future__ import annotations

from typing import Any

import aiomsg

ERROR_1000 = {
    "code": 1000,
    "message": "Invalid umid.",
    "errorId": "fbb239f1-2eb1-ea11-afa9-00155db6eaf4",
    "timestamp": "2020-06-18T06:42:57.20Z",
}
ERROR_1001 = {
    "code": 1001,
    "message": "Provided subAccountId doesn't belongs to your account",
    "errorId": "91b106f0-c0da-4aba-a43a-7af9c5893a80",
    "timestamp": "2017-04-19T02:31:19.4297387+00:00",
}
ERROR_1002 = {
    "code": 1002,
    "message": "Invalid MSISDN format (not E.164 international number)",
    "errorId": "b4478860-b76c-e811-814e-022a35cc1c71",
    "timestamp": "2018-08-04T09:25:40.9235752+00:00",
}
ERROR_1200 = {
    "code": 1200,
    "message": "Request was not authenticated properly",
    "errorId": "db9dced4-3534-4d86-9d18-6b448af0d621",
    "timestamp": "2018-08-02T09:42:38.8988997+00:00",
}
ERROR_1300 = {
    "code": 1300,
    "message": "Message not found.",
    "errorId": "1949a467-2db1-ea11-afa9-00155db6eaf4",
    "timestamp": "2020-06-18T06:31:58.11Z",
}
ERROR_1014 = {
    "code": 1014,
    "message": "TLS 1.3+ is required for Singapore-bound messages. Detected: TLSv1.2",
    "errorId": "b4478860-b76c-e811-814e-022a35cc1c71",
    "timestamp": "2018-08-04T09:25:40.9235752+00:00",
}
ERROR_2000 = {
    "code": 2000,
    "message": "Internal server error",
    "errorId": "db9dced4-3534-4d86-9d18-6b448af0d621",
    "timestamp": "2018-07-02T09:42:38.8988997+00:00",
}

#: Every (status, body) error example of the 8x8 pages, with the class it must raise.
SEED_ERRORS: list[tuple[int, dict[str, Any], type[aiomsg.APIStatusError]]] = [
    (400, ERROR_1000, aiomsg.BadRequestError),
    (400, ERROR_1001, aiomsg.BadRequestError),
    (400, ERROR_1002, aiomsg.BadRequestError),
    (401, ERROR_1001, aiomsg.AuthenticationError),
    (401, ERROR_1200, aiomsg.AuthenticationError),
    (404, ERROR_1300, aiomsg.NotFoundError),
    (426, ERROR_1001, aiomsg.TLSVersionError),
    (426, ERROR_1014, aiomsg.TLSVersionError),
    (500, ERROR_1001, aiomsg.InternalServerError),
    (500, ERROR_2000, aiomsg.InternalServerError),
]
SEED_ERROR_IDS = [f"{status}-{body['code']}" for status, body, _ in SEED_ERRORS]

#: The single-LINE-Notification request example of 8x8's spec, with ``url`` in the
#: action as its schema says (the example itself writes ``content``).
LINE_MESSAGE: dict[str, Any] = {
    "user": {"msisdn": "+6500000000"},
    "clientMessageId": "1234_id",
    "content": {
        "title": "Event reminder",
        "company": "8x8",
        "icon": "calendar",
        "emphasis": {"label": "Event name", "content": "8x8 Conference"},
        "list": [{"label": "Date", "content": "Tue 26/09/2022"}],
        "explanation": "We would like to remind you about your reservation for tomorrow event",
        "greeting": "Can't wait to see you there!",
        "actions": [{"title": "See direction", "url": "https://www.google.com/maps"}],
    },
    "smsFallback": {
        "text": "Event reminder - 8x8 Conference on Tue 26/09/2022",
        "source": "8x8 events",
        "encoding": "AUTO",
    },
}

#: The LINE batch response example (note the ``rejected`` state the state list lacks).
LINE_BATCH_RESPONSE: dict[str, Any] = {
    "batchId": "cf3cbbf5-3e2d-ea11-815d-020897df5459",
    "clientBatchId": "aaa_batch",
    "acceptedCount": 1,
    "rejectedCount": 1,
    "messages": [
        {
            "umid": "d03cbbf5-3e2d-ea11-815d-020897df5459",
            "user": {"msisdn": "+6500000000"},
            "clientMessageId": "aaa-1",
            "status": {"state": "queued", "timestamp": "2020-01-04T08:19:45.99Z"},
        },
        {
            "umid": "15bb8ad1-d06e-418c-8dc7-ac8a00ffeb70",
            "user": {"msisdn": "+65000001"},
            "clientMessageId": "aaa-2",
            "status": {
                "state": "rejected",
                "timestamp": "2020-01-04T08:19:45.99Z",
                "errorCode": 3038,
                "errorMessage": "Template not found for provided name and language",
            },
        },
    ],
}

#: Revicom's stop request example and its two response examples.
REVICOM_UUIDS = [
    "2a28d557-22a1-4be6-8908-1481723043dd",
    "811c27e3-3bc4-406a-9fcd-44435a8208da",
    "cc46e6b6-2d77-4457-aa81-c17a027721d3",
]
REVICOM_STOP_RESPONSE: dict[str, Any] = {
    "errors": True,
    "items": [
        {"messageUuid": "2a28d557-22a1-4be6-8908-1481723043dd", "code": 201},
        {"messageUuid": "811c27e3-3bc4-406a-9fcd-44435a8208da", "code": 403},
        {"messageUuid": "cc46e6b6-2d77-4457-aa81-c17a027721d3", "code": 404},
    ],
}
REVICOM_STOP_RESPONSE_DESCRIBED: dict[str, Any] = {
    "errors": True,
    "items": [
        {"messageUuid": "2a28d557-22a1-4be6-8908-1481723043dd", "code": 200},
        {"messageUuid": "063464ec-a34f-4558-90c5-984395000001", "code": 202},
        {"messageUuid": "811c27e3-3bc4-406a-9fcd-44435a8208da", "code": 403},
        {"messageUuid": "cc46e6b6-2d77-4457-aa81-c17a027721d3", "code": 404},
    ],
}
