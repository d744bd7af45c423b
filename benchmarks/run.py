"""Run every workload against every implementation and print one table.

``python -m benchmarks [--quick] [--reps N] [--json PATH] [--w4-size N] [--uvloop]``

The loopback server runs in its own process for the whole run; each (workload,
implementation) run is a fresh child process. Implementations alternate within each
repetition (the order rotates from one repetition to the next) and the table shows
medians. Requests made and items received are counted by the server.

``--instructions`` counts the client's instructions instead of timing it: each child
runs under valgrind's callgrind twice, once whole and once with ``--setup-only``, and
the difference is the workload's. Counts repeat to within a few thousand
instructions whatever else the machine is doing, where CPU time on a small shared
machine swings by 10-30 %; they do not see cache misses or page faults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, Final

from benchmarks import data, goodput, importtime
from benchmarks.common import STATS_PATH

ROOT: Final = Path(__file__).resolve().parent.parent
IMPLS: Final = ("L", "MS", "H", "aiomsg")
GROUPS: Final = ("W1", "W2", "W3", "W4", "scale", "W5", "import")
RATIOS: Final = ("aiomsg/L", "aiomsg/MS", "H/aiomsg")
PACKAGES: Final = ("aiomsg", "aiohttp", "msgspec", "anyio", "httpx", "pydantic", "uvloop")

DESCRIPTIONS: Final = {
    "W1": "send LINE Notifications (1,000 per request, messages in response)",
    "W2": "stop Revicom uuids (10,000 per request)",
    "W3": "cancel single SMS (one DELETE each)",
    "W4": "stream uuids from a file through stream_stop to a JSONL report",
    "scale": "W2 for aiomsg at growing sizes: cost per item should stay flat",
    "W5": "bulk SMS cancels against a per-sub-account rate limit: goodput and 429s",
    "import": "python -X importtime -c 'import aiomsg': aiomsg's own share and its deps'",
}


@dataclass(frozen=True)
class Case:
    group: str
    workload: str
    impl: str
    size: int
    per_request: int
    concurrency: int
    variant: str = ""
    loop: str = "asyncio"

    @property
    def label(self) -> str:
        parts = [self.impl]
        if self.variant:
            parts.append(self.variant)
        if self.loop != "asyncio":
            parts.append(self.loop)
        return " ".join(parts)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.workload}/{self.label}/{self.size}"


@dataclass
class CaseResult:
    case: Case
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {r["status"] for r in self.runs}
        for status in ("unavailable", "error"):
            if status in statuses:
                return status
        return "ok" if statuses == {"ok"} else "not run"

    @property
    def error(self) -> str:
        return next((str(r.get("error", "")) for r in self.runs if r["status"] != "ok"), "")

    def median(self, name: str) -> float:
        values = [float(r[name]) for r in self.runs if r["status"] == "ok" and name in r]
        return statistics.median(values) if values else float("nan")

    @property
    def cpu_us_per_item(self) -> float:
        return self.median("cpu_s") / self.case.size * 1e6

    def per_item(self, metric: str) -> float:
        """CPU microseconds (``cpu_s``) or instructions (``instructions``) per item."""
        scale = 1e6 if metric == "cpu_s" else 1.0
        return self.median(metric) / self.case.size * scale

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.status != "ok":
            out["error"] = self.error
            return out
        if COUNTER:
            for name in ("instructions", "requests", "items"):
                out[name] = self.median(name)
            out["instructions_per_item"] = self.per_item("instructions")
            return out
        for name in ("cpu_s", "wall_s", "peak_rss_mb", "rss_before_mb", "requests", "items"):
            out[name] = self.median(name)
        out["cpu_us_per_item"] = self.cpu_us_per_item
        out["wall_us_per_item"] = self.median("wall_s") / self.case.size * 1e6
        return out


# --- the plan ------------------------------------------------------------------------


def plan(args: argparse.Namespace) -> list[list[Case]]:
    """Groups of cases; the cases of one group alternate within each repetition."""
    div = 10 if args.quick else 1
    if args.instructions:
        div *= 5  # under valgrind a run is about 50 times slower
    w1, w2, w3 = 100_000 // div, 1_000_000 // div, 10_000 // div
    w4 = args.w4_size if args.w4_size is not None else (100_000 if args.quick else 10_000_000)
    impls = [i for i in IMPLS if i in args.impls]
    groups: list[list[Case]] = []
    if "W1" in args.only:
        groups.append([Case("main", "W1", i, w1, 1000, 8) for i in impls])
    if "W2" in args.only:
        cases = [Case("main", "W2", i, w2, 10_000, 8) for i in impls]
        if "aiomsg" in impls:
            cases.append(Case("main", "W2", "aiomsg", w2, 10_000, 8, variant="stream"))
        groups.append(cases)
    if "W3" in args.only:
        cases = [Case("main", "W3", i, w3, 1, 64) for i in impls]
        if "aiomsg" in impls:
            cases.append(Case("main", "W3", "aiomsg", w3, 1, 64, variant="bulk"))
            # The defaults, paced at 1,800 requests per second: what pacing costs.
            cases.append(Case("main", "W3", "aiomsg", w3, 1, 64, variant="paced"))
        if args.uvloop:
            for c in list(cases):
                if c.impl in ("L", "aiomsg"):
                    cases.append(Case("main", "W3", c.impl, w3, 1, 64, c.variant, "uvloop"))
        groups.append(cases)
    if args.instructions:
        return groups  # W4 and the scaling check measure time and memory
    if "W4" in args.only and "aiomsg" in impls:
        # Also at a tenth of the size: the cost per million must stay flat between them.
        w4_sizes = sorted({max(10_000, w4 // 10), w4})
        groups.append(
            [Case("main", "W4", "aiomsg", n, 10_000, 8, variant="stream") for n in w4_sizes]
        )
    if "scale" in args.only and "aiomsg" in impls:
        sizes = (1_000, 10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
        groups.append(
            [
                Case("scale", "W2", "aiomsg", n, 10_000, 8, variant=variant)
                for n in sizes
                for variant in ("", "stream")
            ]
        )
    return groups


# --- processes -----------------------------------------------------------------------


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _pinner(cpu: int) -> Callable[[], None] | None:
    """Run a process on one CPU: the server on one, the client on another, so neither
    takes the other's core and run-to-run noise drops. None where that is not
    possible (fewer than two CPUs, or no affinity call on this OS)."""
    if not PIN or not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None
    target = sorted(os.sched_getaffinity(0))[cpu]
    return lambda: os.sched_setaffinity(0, {target})


#: Set to False by --no-pin.
PIN = True

#: The command line that counts a child's instructions (--instructions), else empty.
COUNTER: list[str] = []
_COLLECTED: Final = re.compile(r"Collected : (\d+)")


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    """Start the canned server in its own process; always end it, also on errors."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=_pinner(0),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"benchmark server did not start (exit code {proc.poll()})")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


_NO_PROXY: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_stats(url: str) -> dict[str, int]:
    with _NO_PROXY.open(url + STATS_PATH, timeout=30) as resp:
        stats: dict[str, int] = json.loads(resp.read())
    return stats


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def run_case(case: Case, url: str, workdir: Path, timeout: float) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.child",
        f"--impl={case.impl}",
        f"--workload={case.workload}",
        f"--variant={case.variant}",
        f"--size={case.size}",
        f"--per-request={case.per_request}",
        f"--concurrency={case.concurrency}",
        f"--url={url}",
        f"--loop={case.loop}",
    ]
    report: Path | None = None
    if case.workload == "W4":
        uuid_file = workdir / f"uuids-{case.size}.txt"
        if not uuid_file.exists():
            print(f"  generating {case.size:,} uuids for W4 (not timed) ...", flush=True)
            data.write_uuid_file(uuid_file, case.size)
        report = workdir / "report.jsonl"
        cmd += [f"--uuid-file={uuid_file}", f"--report-file={report}"]
    before = server_stats(url)
    if COUNTER:
        proc, instructions = run_counted(cmd, timeout)
    else:
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, preexec_fn=_pinner(1)
        )
    after = server_stats(url)
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"status": "error", "error": f"child exited with {proc.returncode}"}
    if result["status"] == "error" and proc.stderr.strip():
        result["stderr"] = proc.stderr.strip().splitlines()[-12:]
    if COUNTER:
        # Time and memory under valgrind say nothing about the client: keep the count.
        result = {k: v for k, v in result.items() if k in ("status", "error", "stderr")}
        if result["status"] == "ok":
            if instructions is None:
                result = {"status": "error", "error": "valgrind printed no instruction count"}
            else:
                result["instructions"] = instructions
    result["requests"] = after["requests"] - before["requests"]
    result["items"] = after["items"] - before["items"]
    if report is not None and report.exists():
        result["report_lines"] = count_lines(report)
        result["report_mb"] = report.stat().st_size / 1e6
        report.unlink()
        if result["status"] == "ok" and result["report_lines"] != case.size:
            result["status"] = "error"
            result["error"] = f"report has {result['report_lines']} lines for {case.size} items"
    return result


Completed = subprocess.CompletedProcess[str]


def run_counted(cmd: list[str], timeout: float) -> tuple[Completed, int | None]:
    """Run the child whole and setup-only under the counter, side by side; the whole
    run's output and the workload's instructions (the difference of the two counts)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same hashing in both runs
    procs = [
        subprocess.Popen(
            [*COUNTER, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )
        for args in (cmd, [*cmd, "--setup-only"])
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        outputs = [p.communicate(timeout=max(0.0, deadline - time.monotonic())) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    counts = [_COLLECTED.search(err) for _, err in outputs]
    whole = subprocess.CompletedProcess(procs[0].args, procs[0].returncode, *outputs[0])
    if counts[0] is None or counts[1] is None or procs[1].returncode != 0:
        return whole, None
    return whole, int(counts[0].group(1)) - int(counts[1].group(1))


def rotated(cases: Sequence[Case], rep: int) -> list[Case]:
    k = rep % len(cases)
    return [*cases[k:], *cases[:k]]


def short(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        return f"{result['status']}: {result.get('error', '')}"
    if COUNTER:
        return f"{result['instructions']:,} instructions  {result['requests']} requests"
    return (
        f"cpu {result['cpu_s']:.3f}s  wall {result['wall_s']:.3f}s  "
        f"{result['requests']} requests  peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def execute(
    groups: list[list[Case]], reps: int, url: str, workdir: Path, timeout: float
) -> list[CaseResult]:
    results = {c.key: CaseResult(c) for group in groups for c in group}
    for group in groups:
        for rep in range(reps):
            for case in rotated(group, rep):
                res = results[case.key]
                if res.runs and res.runs[-1]["status"] == "unavailable":
                    continue
                print(f"[{rep + 1}/{reps}] {case.workload} {case.label} n={case.size:,}", end="")
                print(" ...", end="", flush=True)
                try:
                    outcome = run_case(case, url, workdir, timeout)
                except subprocess.TimeoutExpired:
                    outcome = {"status": "error", "error": f"timed out after {timeout:.0f}s"}
                res.runs.append(outcome)
                print(f" {short(outcome)}", flush=True)
                for line in outcome.get("stderr", []):
                    print(f"    | {line}")
    return list(results.values())


# --- the report ----------------------------------------------------------------------


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def _fmt_us(value: float) -> str:
    """Microseconds per item: three significant digits below 10, two decimals above."""
    return _fmt(value, 3 if value < 10 else 2)


def ratios(results: list[CaseResult], metric: str = "cpu_s") -> dict[str, dict[str, float]]:
    """Per-item ratios (of CPU time, or of instructions) for each aiomsg row against L,
    MS and H of its workload."""

    def find(workload: str, impl: str, loop: str) -> CaseResult | None:
        for r in results:
            c = r.case
            if (c.group, c.workload, c.impl, c.loop) == ("main", workload, impl, loop):
                if r.status == "ok":
                    return r
        return None

    out: dict[str, dict[str, float]] = {}
    for r in results:
        c = r.case
        if c.group != "main" or c.impl != "aiomsg" or r.status != "ok":
            continue
        row: dict[str, float] = {}
        for impl in ("L", "MS"):
            # on uvloop, compare with the same baseline on uvloop when it was measured
            base = find(c.workload, impl, c.loop) or find(c.workload, impl, "asyncio")
            if base is not None:
                row[f"aiomsg/{impl}"] = r.per_item(metric) / base.per_item(metric)
        h = find(c.workload, "H", "asyncio")
        if h is not None:
            row["H/aiomsg"] = h.per_item(metric) / r.per_item(metric)
        out[c.key] = row
    return out


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def render_counted(results: list[CaseResult]) -> str:
    rat = ratios(results, "instructions")
    rows = []
    for r in results:
        c = r.case
        if r.status != "ok":
            rows.append([c.workload, c.label, f"{c.size:,}", r.status, "", "", *[""] * 3])
            continue
        rr = rat.get(c.key, {})
        rows.append(
            [
                c.workload,
                c.label,
                f"{c.size:,}",
                f"{r.median('requests'):,.0f}",
                f"{r.median('instructions') / 1e6:,.1f}",
                f"{r.per_item('instructions'):,.0f}",
                *(_fmt(rr[k]) if k in rr else "" for k in RATIOS),
            ]
        )
    headers = ["work", "impl", "items", "reqs", "M instr", "instr/item", *RATIOS]
    out = [table(headers, rows)]
    notes = [f"  {r.case.workload} {r.case.label}: {r.error}" for r in results if r.error]
    if notes:
        out += ["", "not measured:", *notes]
    return "\n".join(out)


def render(results: list[CaseResult]) -> str:
    if COUNTER:
        return render_counted(results)
    rat = ratios(results)
    out: list[str] = []
    main = [r for r in results if r.case.group == "main" and r.case.workload != "W4"]
    if main:
        rows = []
        for r in main:
            c = r.case
            if r.status != "ok":
                rows.append([c.workload, c.label, f"{c.size:,}", r.status, *[""] * 8])
                continue
            rr = rat.get(c.key, {})
            rows.append(
                [
                    c.workload,
                    c.label,
                    f"{c.size:,}",
                    f"{r.median('requests'):,.0f}",
                    _fmt(r.median("cpu_s"), 3),
                    _fmt_us(r.cpu_us_per_item),
                    _fmt(r.median("wall_s"), 3),
                    _fmt(r.median("peak_rss_mb"), 0),
                    _fmt(r.median("peak_rss_mb") - r.median("rss_before_mb"), 0),
                    *(_fmt(rr[k]) if k in rr else "" for k in RATIOS),
                ]
            )
        headers = [
            "work",
            "impl",
            "items",
            "reqs",
            "cpu s",
            "cpu us/item",
            "wall s",
            "peak MB",
            "+MB",
            *RATIOS,
        ]
        out.append(table(headers, rows))
        notes = [f"  {r.case.workload} {r.case.label}: {r.error}" for r in main if r.error]
        if notes:
            out += ["", "not measured:", *notes]
    w4 = [r for r in results if r.case.workload == "W4"]
    if w4:
        out += ["", f"W4 scale: {DESCRIPTIONS['W4']}"]
    for r in w4:
        if r.status != "ok":
            out.append(f"  {r.status}: {r.error}")
            continue
        per_m = 1e6 / r.case.size
        out.append(
            f"  {r.case.size:,} uuids in {r.median('requests'):,.0f} requests: "
            f"cpu {r.median('cpu_s'):.2f} s, wall {r.median('wall_s'):.2f} s; "
            f"per million: cpu {r.median('cpu_s') * per_m:.2f} s "
            f"(user {r.median('user_s') * per_m:.2f}, system {r.median('sys_s') * per_m:.2f}), "
            f"wall {r.median('wall_s') * per_m:.2f} s; "
            f"peak RSS {r.median('peak_rss_mb'):.0f} MB "
            f"(+{r.median('peak_rss_mb') - r.median('rss_before_mb'):.0f} MB while streaming); "
            f"report {r.median('report_mb'):.0f} MB"
        )
    done = [r for r in w4 if r.status == "ok"]
    if len(done) >= 2:
        small, large = done[0], done[-1]

        def drift(metric: str) -> str:
            base = small.median(metric) / small.case.size
            if not base > 0:  # too little to compare (or not measured)
                return "n/a"
            return f"{large.median(metric) / large.case.size / base - 1:+.1%}"

        out.append(
            f"  cost per million at {large.case.size:,} against {small.case.size:,}: "
            f"cpu {drift('cpu_s')} (user {drift('user_s')}, "
            f"system {drift('sys_s')}); flat means within 10 %"
        )
    scale = [r for r in results if r.case.group == "scale"]
    if scale:
        out += ["", f"Scaling: {DESCRIPTIONS['scale']}"]
        rows = []
        for r in scale:
            c = r.case
            if r.status != "ok":
                rows.append([c.label, f"{c.size:,}", r.status, r.error[:60], "", ""])
                continue
            rows.append(
                [
                    c.label,
                    f"{c.size:,}",
                    f"{r.median('requests'):,.0f}",
                    _fmt_us(r.cpu_us_per_item),
                    _fmt_us(r.median("wall_s") / c.size * 1e6),
                    _fmt(r.median("peak_rss_mb"), 0),
                ]
            )
        headers = ["impl", "uuids", "reqs", "cpu us/item", "wall us/item", "peak MB"]
        out.append(table(headers, rows))
    return "\n".join(out)


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    if found["aiomsg"] == "not installed":
        try:
            import aiomsg

            found["aiomsg"] = f"{aiomsg.__version__} (source tree)"
        except Exception:  # a broken source tree must not stop the benchmark
            pass
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Client cost of aiomsg against raw aiohttp (L), aiohttp + msgspec (MS) "
        "and httpx + pydantic (H), on a loopback server in its own process.",
    )
    parser.add_argument("--quick", action="store_true", help="10x fewer items, 1 repetition")
    parser.add_argument("--reps", type=int, help="repetitions (default 3, quick 1)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write all results as JSON")
    parser.add_argument(
        "--w4-size", type=int, help="uuids streamed in W4 (default 10,000,000; quick 100,000)"
    )
    parser.add_argument(
        "--uvloop", action="store_true", help="also run W3 for L and aiomsg on uvloop"
    )
    parser.add_argument(
        "--w5-rate",
        type=float,
        default=goodput.DEFAULT_RATE,
        help="W5: the server's limit per sub-account, per second "
        f"(default {goodput.DEFAULT_RATE:.0f})",
    )
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated workloads to run (default: {','.join(GROUPS)})",
    )
    parser.add_argument(
        "--impls",
        default=",".join(IMPLS),
        help=f"comma-separated implementations to run (default: {','.join(IMPLS)})",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per child run")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server and client to separate CPUs"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count client instructions under valgrind instead of timing (W1-W3, 1/5 sizes)",
    )
    args = parser.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    args.impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    for name, given, allowed in (("--only", args.only, GROUPS), ("--impls", args.impls, IMPLS)):
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            parser.error(f"{name}: unknown {', '.join(unknown)} (choose from {allowed})")
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (its callgrind tool) on PATH")
    if args.reps is None:
        args.reps = 1 if args.quick or args.instructions else 3
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    global PIN
    args = parse_args(argv)
    PIN = not args.no_pin and not args.instructions
    if args.instructions:
        COUNTER[:] = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    groups = plan(args)
    # End the server and the running child on termination too, not only on Ctrl-C.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_exit)
    meta: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions(),
        "quick": args.quick,
        "reps": args.reps,
        "measure": "instructions" if args.instructions else "cpu time",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(
        f"Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    )
    for name in args.only:
        print(f"  {name}: {DESCRIPTIONS[name]}")
    workdir = Path(tempfile.mkdtemp(prefix="aiomsg-bench-"))
    run_w5 = "W5" in args.only and "aiomsg" in args.impls and not args.instructions
    w5 = goodput.plan(args.quick, args.w5_rate) if run_w5 else []
    w5_results: list[tuple[goodput.GoodputCase, dict[str, Any]]] = []
    try:
        with loopback_server() as url:
            results = execute(groups, args.reps, url, workdir, args.timeout)
            for case in w5:  # once each: a case runs for tens of seconds
                print(f"[1/1] W5 {case.label} n={case.size:,} ...", end="", flush=True)
                try:
                    outcome = goodput.run(case, url, args.timeout, _pinner(1))
                except subprocess.TimeoutExpired:
                    outcome = {"status": "error", "error": f"timed out after {args.timeout:.0f}s"}
                print(f" {goodput.short(outcome)}", flush=True)
                for line in outcome.get("stderr", []):
                    print(f"    | {line}")
                w5_results.append((case, outcome))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    imports: dict[str, float] | None = None
    import_reps = 3 if args.quick else 7
    if "import" in args.only and not args.instructions:
        print(f"import aiomsg x {import_reps} ...", flush=True)
        imports = importtime.measure(import_reps)
    print()
    if results:
        if args.instructions:
            print(f"Medians of {args.reps} run(s); client instructions (callgrind), workload only.")
        else:
            print(f"Medians of {args.reps} run(s); CPU is client process time only.")
        print(render(results))
    if w5_results:
        print("\n" + goodput.render(w5_results))
    if imports is not None:
        print("\n" + importtime.render(imports, import_reps))
    if args.json:
        rat = ratios(results, "instructions" if args.instructions else "cpu_s")
        doc = {
            "meta": meta,
            "results": [
                {
                    **asdict(r.case),
                    "label": r.case.label,
                    "median": r.summary(),
                    "ratios": rat.get(r.case.key, {}),
                    "runs": r.runs,
                }
                for r in results
            ],
            "W5": [{**asdict(case), "label": case.label, **out} for case, out in w5_results],
            "import_ms": imports,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    failed = [r for r in results if r.status == "error"]
    failed += [out for _, out in w5_results if out["status"] == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
