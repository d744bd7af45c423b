"""``aiomsg simulator`` and ``aiomsg demo``: the built-in simulator of 8x8 and Revicom."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import port, run_async
from .exits import EXIT_OK, UsageError

if TYPE_CHECKING:
    from .common import Commands

__all__ = ["add_commands"]


def add_commands(top: Commands) -> None:
    demo = top.add_parser("demo", help="run the whole flow against the built-in simulator")
    demo.set_defaults(handler=show_demo)
    sim = top.add_parser("simulator", help="serve the simulator of 8x8 and Revicom")
    _simulator_arguments(sim)
    sim.set_defaults(handler=serve_simulator)


def show_demo(args: argparse.Namespace) -> int:
    """``aiomsg demo``."""
    from .demo import run_demo

    return run_async(run_demo())


def _simulator_arguments(sim: argparse.ArgumentParser) -> None:
    sim.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    sim.add_argument("--port", type=port, default=0, help="port (default: a free one)")
    sim.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    seed = sim.add_argument_group(
        "rehearsal: seeded ids are written to files in --seed-dir, whose paths are printed"
    )
    seed.add_argument(
        "--seed-revicom", metavar="FILE", help="seed these uuids (one a line) as stoppable"
    )
    for name, what in (
        ("revicom-count", "queued Revicom messages"),
        ("sms", "scheduled SMS messages (one batch)"),
        ("chatapps", "scheduled Chat Apps messages (one batch)"),
        ("line", "LINE Notifications, written as a JSONL file to send"),
        ("flows", "DRAFT WhatsApp Flows"),
    ):
        seed.add_argument(f"--seed-{name}", type=int, default=0, metavar="N", help=f"N {what}")
    seed.add_argument(
        "--seed-dir", metavar="DIR", help="where to write them (default: a new temporary one)"
    )
    seed.add_argument("--no-demo-data", action="store_true", help="skip the small demo set")
    act = sim.add_argument_group("behaviour")
    act.add_argument(
        "--latency", metavar="S", help="wait before each answer: 0.05, 50ms or a range 10ms-200ms"
    )
    act.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="P",
        help="share of requests (0 to 1) that fail with one of --faults",
    )  # fmt: skip
    act.add_argument(
        "--faults", default="429,503,reset", metavar="LIST",
        help="429, 500, 502, 503, 504, reset, reset-after, stall[:S], truncated, non-json "
        "(default: 429,503,reset: failures after which nothing was done)",
    )  # fmt: skip
    act.add_argument(
        "--rate-limit", default="1800", metavar="N",
        help="requests per second per 8x8 sub-account, answered 429 + Retry-After beyond "
        "(default: 1800, as 8x8; none: unlimited)",
    )  # fmt: skip
    act.add_argument(
        "--revicom-rate-limit", default="none", metavar="N",
        help="the same per Revicom token (default: none)",
    )  # fmt: skip
    act.add_argument(
        "--flow-delete-status", type=int, choices=(200, 204), default=200,
        help="answer to a deleted DRAFT flow (default: 200, as 8x8 documents)",
    )  # fmt: skip


def serve_simulator(args: argparse.Namespace) -> int:
    """``aiomsg simulator``: serve until SIGINT or SIGTERM (which stop it cleanly, its
    TLS files removed)."""
    from aiomsg.testing import ListenError

    try:
        run_async(_serve(args))
    except (ListenError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


async def _serve(args: argparse.Namespace) -> None:
    """The parsed options of ``aiomsg simulator`` handed to ``aiomsg.testing.serve``."""
    from aiomsg.testing import parse_faults, parse_latency, parse_rate, serve

    if not 0.0 <= args.fault_rate <= 1.0:
        raise ValueError(f"--fault-rate must be from 0 to 1, got {args.fault_rate}")
    for name in ("revicom_count", "sms", "chatapps", "line", "flows"):
        if getattr(args, f"seed_{name}") < 0:
            raise ValueError(f"--seed-{name.replace('_', '-')} must be >= 0")
    await serve(
        args.host,
        args.port,
        args.tls,
        handle_signals=True,
        seed_data=not args.no_demo_data,
        seed_revicom=args.seed_revicom,
        seed_revicom_count=args.seed_revicom_count,
        seed_sms=args.seed_sms,
        seed_chatapps=args.seed_chatapps,
        seed_line=args.seed_line,
        seed_flows=args.seed_flows,
        seed_dir=args.seed_dir,
        fault_rate=args.fault_rate,
        faults=parse_faults(args.faults),
        latency=None if args.latency is None else parse_latency(args.latency),
        rate_limit=parse_rate(args.rate_limit, "--rate-limit"),
        revicom_rate_limit=parse_rate(args.revicom_rate_limit, "--revicom-rate-limit"),
        flow_delete_status=args.flow_delete_status,
    )
