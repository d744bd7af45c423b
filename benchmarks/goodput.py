"""W5: goodput against a provider's per-sub-account rate limit.

The loopback server limits one sub-account with a token bucket (``--w5-rate`` per
second, holding one second's worth, full at first) and answers 429 with
``Retry-After`` in whole seconds like 8x8; bulk SMS cancels run through
``client.sms.cancel_messages``. Each case uses a fresh sub-account, so it starts
with a full bucket.

The server counts what it took and refused, and when. ``goodput`` is the rate it
took requests at, as a share of its limit: ``taken / (last taken - first request)
/ rate``. A client sending at exactly the limit scores 100 %; one that also spends
the bucket the server starts with scores up to ``burst / (rate * seconds)`` more
(2.5 % at 20,000 requests); each second spent paused while the bucket is full costs
a second's worth. ``429 share`` is refused / (taken + refused).

Cases: the client told the true rate (``RateLimit(rate=...)``, the default burst and
concurrency); the client at its defaults (paced at 1,800/s, more than the limit) at
concurrency 8 and 64; and 4 processes at their defaults sharing the sub-account,
started together.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks.common import LIMIT_PATH

ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_RATE: Final = 500.0
#: Seconds the processes of a shared case get to start (imports, inputs) before the
#: common start.
START_DELAY: Final = 3.0

_NO_PROXY: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class GoodputCase:
    variant: str  # "told" or "defaults"
    concurrency: int
    processes: int
    size: int  # cancels in all, shared between the processes
    rate: float
    goal_goodput: float
    goal_429: float

    @property
    def label(self) -> str:
        who = "told the rate" if self.variant == "told" else "defaults"
        procs = f", {self.processes} processes" if self.processes > 1 else ""
        return f"{who}, concurrency {self.concurrency}{procs}"


def plan(quick: bool, rate: float) -> list[GoodputCase]:
    n = 5_000 if quick else 20_000
    return [
        GoodputCase("told", 64, 1, n, rate, 0.97, 0.005),
        GoodputCase("defaults", 8, 1, n, rate, 0.95, 0.03),
        GoodputCase("defaults", 64, 1, n, rate, 0.95, 0.03),
        GoodputCase("defaults", 8, 4, n, rate, 0.90, 0.05),
    ]


def _limit(url: str, query: str) -> dict[str, Any]:
    with _NO_PROXY.open(f"{url}{LIMIT_PATH}?{query}", timeout=30) as resp:
        stats: dict[str, Any] = json.loads(resp.read())
    return stats


def run(
    case: GoodputCase,
    url: str,
    timeout: float,
    pinner: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run one case (its processes side by side); the server's counts and goodput."""
    sub = f"w5-{uuid.uuid4().hex[:12]}"
    _limit(url, f"sub={sub}&rate={case.rate}&burst={case.rate}")
    start_at = time.time() + START_DELAY if case.processes > 1 else None
    procs = []
    for i in range(case.processes):
        share = case.size // case.processes + (i < case.size % case.processes)
        cmd = [
            sys.executable, "-m", "benchmarks.child", "--impl=aiomsg", "--workload=W5",
            f"--variant={case.variant}", f"--size={share}",
            f"--concurrency={case.concurrency}", f"--url={url}", f"--sub-account={sub}",
            f"--limit={case.rate}",
        ]  # fmt: skip
        if start_at is not None:
            cmd.append(f"--start-at={start_at}")
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                preexec_fn=pinner,
            )
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    children: list[dict[str, Any]] = []
    stderr: list[str] = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=max(0.0, deadline - time.monotonic()))
            try:
                children.append(json.loads(out.strip().splitlines()[-1]))
            except (IndexError, json.JSONDecodeError):
                children.append({"status": "error", "error": f"child exited with {p.returncode}"})
            if err.strip():
                stderr += err.strip().splitlines()[-12:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    stats = _limit(url, f"sub={sub}")
    result: dict[str, Any] = {"status": "ok"}
    bad = [c for c in children if c["status"] != "ok"]
    if bad:
        result = {"status": bad[0]["status"], "error": bad[0].get("error", "")}
        if stderr:
            result["stderr"] = stderr
    taken, refused, seconds = stats["taken"], stats["refused"], stats["seconds"]
    result.update(
        taken=taken,
        refused=refused,
        requests=taken + refused,
        seconds=seconds,
        cpu_s=sum(c.get("cpu_s", 0.0) for c in children),
        wall_s=max((c.get("wall_s", 0.0) for c in children), default=0.0),
        goodput=taken / seconds / case.rate if seconds > 0 else 0.0,
        share_429=refused / (taken + refused) if taken + refused else 0.0,
    )
    return result


def short(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        return f"{result['status']}: {result.get('error', '')}"
    return (
        f"goodput {result['goodput']:.1%}  429 {result['share_429']:.2%} "
        f"({result['refused']:,} of {result['requests']:,})  {result['seconds']:.1f} s"
    )


def render(results: list[tuple[GoodputCase, dict[str, Any]]]) -> str:
    if not results:
        return ""
    rate = results[0][0].rate
    rows = []
    for case, r in results:
        if r["status"] != "ok":
            rows.append([case.label, r["status"], r.get("error", "")[:50], "", "", "", ""])
            continue
        met = r["goodput"] >= case.goal_goodput and r["share_429"] <= case.goal_429
        rows.append(
            [
                case.label,
                f"{r['requests']:,}",
                f"{r['refused']:,}",
                f"{r['share_429']:.2%}",
                f"{r['goodput']:.1%}",
                f">= {case.goal_goodput:.0%}, <= {case.goal_429:.1%} 429",
                "met" if met else "NOT MET",
            ]
        )
    headers = ["W5 case", "reqs", "429s", "429 share", "goodput", "goal", ""]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    lines = [
        f"W5 goodput: {results[0][0].size:,} bulk SMS cancels against a limit of "
        f"{rate:,.0f}/s per sub-account (bucket of one second, Retry-After in seconds)",
    ]
    for cells in [headers, ["-" * w for w in widths], *rows]:
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                      enumerate(zip(cells, widths, strict=True)))
        )  # fmt: skip
    return "\n".join(lines)
