"""Which slice of the input a job runs, and the pace each slice keeps.

A job runner starts N copies of one command. Each needs its shard K of N: from
``--shard K/N`` (1-based), or K from ``JOB_COMPLETION_INDEX`` (0-based, set by a
Kubernetes Indexed Job in every pod) and N from ``--shards N`` or
``AIOMSG_SHARDS``. Values given in two places must agree; a shard index without a
shard count (other than index 0, a job of one) is refused, since every copy would
otherwise run the whole input.

N shards of one sub-account share its rate limit: each shard's default pace is
the client's default rate divided by N (``--rate R`` sets it instead).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
from collections.abc import Mapping
from typing import Final

from aiomsg import EightByEight, RateLimit, Revicom

from .exits import UsageError

__all__ = [
    "ENV_INDEX",
    "ENV_SHARDS",
    "MAX_SHARDS",
    "default_rate_limit",
    "rate_limit",
    "resolve_shard",
    "shard_of",
]

#: The 0-based index Kubernetes gives each pod of an Indexed Job.
ENV_INDEX: Final = "JOB_COMPLETION_INDEX"
#: The number of shards, when ``--shards`` is not given.
ENV_SHARDS: Final = "AIOMSG_SHARDS"
MAX_SHARDS: Final = 100_000


def _count(value: str, where: str, low: int) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise UsageError(f"{where} must be a whole number, got {value!r}") from None
    if not low <= n <= MAX_SHARDS:
        raise UsageError(f"{where} must be from {low} to {MAX_SHARDS:,}, got {n}")
    return n


def resolve_shard(
    shard: tuple[int, int] | None, shards: int | None, environ: Mapping[str, str]
) -> tuple[int, int] | None:
    """The shard (K, N), 1-based, from ``--shard``, ``--shards`` and the environment
    (None: the whole input). ``UsageError`` when they disagree or one is missing."""
    env_n = environ.get(ENV_SHARDS, "").strip()
    env_k = environ.get(ENV_INDEX, "").strip()
    n_env = _count(env_n, f"${ENV_SHARDS}", 1) if env_n else None
    index = _count(env_k, f"${ENV_INDEX}", 0) if env_k else None
    if shards is not None and n_env is not None and shards != n_env:
        raise UsageError(f"--shards {shards} and ${ENV_SHARDS}={n_env} disagree; give one")
    n = shards if shards is not None else n_env
    if shard is not None:
        k, given_n = shard
        if n is not None and n != given_n:
            where = f"--shards {n}" if shards is not None else f"${ENV_SHARDS}={n}"
            raise UsageError(f"--shard {k}/{given_n} and {where} disagree on the shard count")
        if index is not None and index + 1 != k:
            raise UsageError(
                f"--shard {k}/{given_n} and ${ENV_INDEX}={index} (shard {index + 1}, "
                f"1-based) disagree; in an Indexed Job give --shards N and let each pod "
                f"take its index"
            )
        return shard
    if n is None:
        if index:
            raise UsageError(
                f"${ENV_INDEX}={index} but no shard count: give --shards N or set "
                f"${ENV_SHARDS} (the Job's completions), or every pod runs the whole input"
            )
        return None
    if index is None:
        raise UsageError(
            f"{'--shards' if shards is not None else '$' + ENV_SHARDS} {n} needs this "
            f"shard's number: --shard K/{n}, or ${ENV_INDEX} (0-based, as Kubernetes "
            f"Indexed Jobs set it)"
        )
    if index >= n:
        raise UsageError(f"${ENV_INDEX}={index} is not below the shard count {n}")
    return index + 1, n


def shard_of(args: argparse.Namespace) -> tuple[int, int] | None:
    """The shard a command's arguments and the environment name (None for a command
    that takes no shards, such as ``cancel-batch``, whatever the environment says)."""
    if not hasattr(args, "shards"):
        return None
    return resolve_shard(args.shard, args.shards, os.environ)


def default_rate_limit(client: type[EightByEight | Revicom]) -> RateLimit:
    """The pace a client keeps unless told otherwise: its ``rate_limit`` default."""
    default = inspect.signature(client).parameters["rate_limit"].default
    if not isinstance(default, RateLimit):  # pragma: no cover - the clients' signature
        raise TypeError(f"{client.__name__} has no default RateLimit")
    return default


def rate_limit(args: argparse.Namespace, client: type[EightByEight | Revicom]) -> RateLimit:
    """The client's pace: ``--rate``, else its default rate shared by the shards.

    Each of N shards gets ``default.rate / N`` and a burst of ``default.burst / N``
    (at least 1), so N shards together keep to the default's pace. A default with
    no rate stays unpaced unless ``--rate`` is given.
    """
    default = default_rate_limit(client)
    rate: float | None = getattr(args, "rate", None)
    shard = shard_of(args)
    n = 1 if shard is None else shard[1]
    burst = max(1, default.burst // n)
    if rate is not None:
        return dataclasses.replace(default, rate=rate, burst=min(burst, max(1, int(rate))))
    if n == 1 or default.rate is None:
        return default
    return dataclasses.replace(default, rate=default.rate / n, burst=burst)
