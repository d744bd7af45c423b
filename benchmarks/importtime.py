"""What ``import aiomsg`` costs a fresh interpreter, and whose share it is.

Each repetition runs ``python -X importtime -c "import aiomsg"`` in a new process and
reads its report (one line per module first imported: its own time and its time
with what it imported). The table shows medians of:

- ``total``: the cumulative time of ``aiomsg`` (everything its import pulled in that
  the bare interpreter had not loaded already);
- ``aiomsg own``: the own time of ``aiomsg`` and its submodules (the goal: < 50 ms);
- ``aiohttp``, ``anyio``, ``msgspec``: the cumulative time of the first import of
  each (with what it pulled in first, standard library modules included);
- ``other``: the rest (standard library and smaller dependencies imported directly).

Installed packages are imported from bytecode (``pip`` compiles it), so the runs do
too: the interpreters write and read it under a private ``PYTHONPYCACHEPREFIX``, with
``PYTHONDONTWRITEBYTECODE`` unset, and a first run (not counted) fills it. That first
run's ``aiomsg own`` is reported apart as ``compile``: what a source tree without
bytecode pays at every start (compiling aiomsg's sources), not what users pay.

``python -m benchmarks.importtime [--reps N] [--top N]`` also lists aiomsg's modules
by cumulative time, to see which imports could be deferred.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
DEPENDENCIES: Final = ("aiohttp", "anyio", "msgspec")
GOAL_OWN_MS: Final = 50.0

_LINE: Final = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass(frozen=True)
class Module:
    name: str
    own_us: int
    cumulative_us: int
    depth: int


def parse(report: str) -> list[Module]:
    """The modules of one ``-X importtime`` report, in the order it lists them."""
    out = []
    for line in report.splitlines():
        m = _LINE.match(line)
        if m:
            own, cumulative, indent, name = m.groups()
            out.append(Module(name, int(own), int(cumulative), (len(indent) - 1) // 2))
    return out


def shares(modules: list[Module]) -> dict[str, float]:
    """Milliseconds: total, aiomsg's own, each dependency's, and the rest."""
    total = next((m.cumulative_us for m in modules if m.name == "aiomsg"), 0)
    own = sum(m.own_us for m in modules if m.name == "aiomsg" or m.name.startswith("aiomsg."))
    out = {"total": total / 1000, "aiomsg own": own / 1000}
    for dep in DEPENDENCIES:
        out[dep] = next((m.cumulative_us for m in modules if m.name == dep), 0) / 1000
    out["other"] = out["total"] - sum(out[k] for k in ("aiomsg own", *DEPENDENCIES))
    return out


def _environment(pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def measure_once(pycache: str, python: str = sys.executable) -> list[Module]:
    """One fresh interpreter's report, its bytecode kept under ``pycache``."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", "import aiomsg"],
        cwd=ROOT, env=_environment(pycache), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"import aiomsg failed: {proc.stderr.strip().splitlines()[-1:]}")
    return parse(proc.stderr)


def measure(reps: int) -> dict[str, float]:
    """Medians over ``reps`` fresh interpreters, in milliseconds, from bytecode; and
    ``compile``, aiomsg's own share in the first run, which compiles its sources."""
    with tempfile.TemporaryDirectory(prefix="aiomsg-pycache-") as pycache:
        first = shares(measure_once(pycache))
        runs = [shares(measure_once(pycache)) for _ in range(reps)]
    out = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    out["compile"] = first["aiomsg own"]
    return out


def render(figures: dict[str, float], reps: int) -> str:
    own = figures["aiomsg own"]
    verdict = "met" if own < GOAL_OWN_MS else "NOT MET"
    parts = ", ".join(f"{k} {v:.0f}" for k, v in figures.items() if k not in ("total", "compile"))
    return (
        f"import aiomsg (python -X importtime, median of {reps} fresh interpreters, "
        f"from bytecode): total {figures['total']:.0f} ms; {parts} ms; "
        f"aiomsg's own share goal < {GOAL_OWN_MS:.0f} ms: {verdict}; "
        f"without bytecode, aiomsg's own share is {figures.get('compile', 0):.0f} ms "
        "(compiling its sources)"
    )


def top_modules(modules: list[Module], n: int) -> list[Module]:
    mine = [m for m in modules if m.name.startswith("aiomsg.")]
    return sorted(mine, key=lambda m: m.cumulative_us, reverse=True)[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--top", type=int, default=15, help="aiomsg modules to list")
    args = parser.parse_args(argv)
    print(render(measure(args.reps), args.reps))
    print("\naiomsg modules by cumulative time (one run from bytecode; ms, own ms):")
    with tempfile.TemporaryDirectory(prefix="aiomsg-pycache-") as pycache:
        measure_once(pycache)
        modules = measure_once(pycache)
    for m in top_modules(modules, args.top):
        print(f"  {'  ' * m.depth}{m.name}: {m.cumulative_us / 1000:.1f} ({m.own_us / 1000:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
