"""The command tree: ``aiomsg COMMAND ...``, and options given in the wrong place.

Each provider's module adds its commands (``add_commands``); each command's
handler takes the parsed arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from typing import cast

from aiomsg import __version__

from . import eightxeight, merge, revicom, simulator
from .exits import EXIT_CODES

__all__ = ["build_parser", "command_parser", "misplaced_option"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiomsg",
        description="Bulk messaging control on 8x8 CPaaS and Revicom. Options go after "
        "the subcommand; secrets come from the environment or a --*-file option.",
        epilog="--quiet silences progress and summaries on standard error; results (a\n"
        "cancelled count, a deleted flow, --report -) still go to standard output.\n\n"
        + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"aiomsg {__version__}")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulator.add_commands(top)
    revicom.add_commands(top)
    eightxeight.add_commands(top)
    merge.add_commands(top)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command under ``parser``, with the words that name it."""
    sub = _subcommands(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.items():
        yield from _commands(child, (*path, name))


def command_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of the deepest command ``argv`` names (``parser`` when none), so that
    an error about its arguments shows that command's usage, not the top level's."""
    node = parser
    for token in argv:
        sub = _subcommands(node)
        if sub is None:
            break
        if token in sub:
            node = sub[token]
    return node


def misplaced_option(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """An option given before its subcommand: where it goes (None when there is none)."""
    node, words, i = parser, cast(tuple[str, ...], ()), 0
    while (sub := _subcommands(node)) is not None:
        while i < len(argv) and argv[i] not in sub:
            token = argv[i]
            if not token.startswith("-") or token == "-":
                return None  # argparse says what is wrong with it
            option = token.split("=", 1)[0]
            if option in node._option_string_actions:
                i += 1
                continue
            takers = [
                w for w, leaf in _commands(node, words) if option in leaf._option_string_actions
            ]
            if not takers:
                return None
            action = next(
                leaf._option_string_actions[option] for _, leaf in _commands(node, words)
                if option in leaf._option_string_actions
            )  # fmt: skip
            moved = [token] if "=" in token or action.nargs == 0 else list(argv[i : i + 2])
            rest = [*argv[:i], *argv[i + len(moved) :]]
            fixed = (
                f"; as in: aiomsg {' '.join([*rest, *moved])}"
                if _accepts(parser, rest, option) else ""
            )  # fmt: skip
            where = ", ".join(f"'aiomsg {' '.join(w)}'" for w in takers)
            return f"{option} goes after the subcommand; it is an option of {where}{fixed}"
        if i >= len(argv):
            return None
        words, node, i = (*words, argv[i]), sub[argv[i]], i + 1
    # The command is named: an option it does not take, but another command does.
    for token in argv[i:]:
        if token == "--":
            break
        option = token.split("=", 1)[0]
        if not option.startswith("--") or option in node._option_string_actions:
            continue
        takers = [w for w, leaf in _commands(parser) if option in leaf._option_string_actions]
        if takers:
            where = ", ".join(f"'aiomsg {' '.join(w)}'" for w in takers)
            return f"'aiomsg {' '.join(words)}' has no option {option}; it is an option of {where}"
    return None


def _accepts(parser: argparse.ArgumentParser, argv: Sequence[str], option: str) -> bool:
    """Whether ``argv`` names a command (its words first) that takes ``option``."""
    node = parser
    for word in argv:
        sub = _subcommands(node)
        if sub is None:
            break
        if word not in sub:
            return False
        node = sub[word]
    return _subcommands(node) is None and option in node._option_string_actions
