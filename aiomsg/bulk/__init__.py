"""Bulk jobs: any number of items through bounded concurrent requests, none lost.

A job reads its input lazily in chunks (one request's worth), hands chunks to a
fixed pool of workers (the ``concurrency``), and passes each chunk's per-item
outcomes on as soon as the chunk finishes. Every input position gets exactly one
outcome, whatever happens: invalid items are ``failed`` and never sent, a request
that fails marks its items, an interrupted job marks what was in flight
``unknown`` and what was never sent ``not_attempted``.

The package, one concern per module:

- ``_results``: what users read (``BulkReport``, ``ItemOutcome``, ``Outcome``, ...);
- ``_options``: ``BulkOptions`` and their checks;
- ``_columns``: storage that keeps a large report small (``PackedStrings``);
- ``_chunk``: one request's worth of input and its outcome columns;
- ``_engine``: reading the input and running chunks on bounded workers;
- ``_stream``: ``run_bulk``, the ``async with`` block a bulk call returns;
- ``_calls``: the seam with providers. A provider hands over how it checks items
  and a function that sends one request and returns a typed ``Answer``; invalid
  items, ids repeated within a request and failed requests are handled there,
  once for every provider, and only the engine writes outcomes;
- ``_admission``, ``_sent``, ``_once``: job-wide rules on what is sent (an id at
  most once per job: LINE clientMessageIds, 8x8 umids), the ids a job has sent,
  and the rule that gives a repeated id its first's outcome.

The bulk layer never builds a URL.
"""

from ._columns import PackedStrings
from ._options import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, BulkOptions, Event
from ._results import (
    SUCCESSFUL,
    BatchRange,
    BulkInputError,
    BulkInterruptedError,
    BulkReport,
    ChunkResult,
    Counts,
    ItemOutcome,
    Outcome,
    Progress,
)
from ._stream import OutcomeStream

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "SUCCESSFUL",
    "BatchRange",
    "BulkInputError",
    "BulkInterruptedError",
    "BulkOptions",
    "BulkReport",
    "ChunkResult",
    "Counts",
    "Event",
    "ItemOutcome",
    "Outcome",
    "OutcomeStream",
    "Progress",
]

# Reachable from a result (``ChunkResult.provider_ids``) and documented here, but not
# a name users import.
_ = PackedStrings
