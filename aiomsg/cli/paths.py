"""Which files a command-line job reads and writes, and refusing any two that are one.

A report or a journal written over the input, over each other or over an aiomsg
journal destroys what cannot be rebuilt. Paths are compared as files, not as
strings: an existing path by its device and inode (so symlinks, hard links,
``./x`` and ``x``, relative and absolute all meet), a path that does not exist yet
by its real parent directory and its name (so an output under a symlinked
directory meets the same output named through the real one). ``-`` is standard
input for the input and standard output for a report: the file behind it, when
there is one, takes part too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from .journal import is_journal

__all__ = ["Role", "file_key", "first_clash", "secret_read_as_input"]

FileKey = tuple[str, int, int, str]


@dataclass(frozen=True, slots=True)
class Role:
    """A path as the job uses it: what it is (``input``, ``--report``, ``--journal``),
    whether the job writes it and whether it holds a secret (``--api-key-file``)."""

    what: str
    path: str
    writes: bool
    secret: bool = False


def file_key(path: str, *, stream_fd: int | None = None) -> FileKey | None:
    """What identifies the file ``path`` names (None: no file, e.g. a terminal or a
    pipe behind ``-``). ``stream_fd``: the descriptor ``-`` stands for."""
    if path == "-":
        if stream_fd is None:
            return None
        try:
            st = os.fstat(stream_fd)
        except OSError:
            return None
        return ("file", st.st_dev, st.st_ino, "") if stat.S_ISREG(st.st_mode) else None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        # Not there yet: where it would be created. realpath follows a dangling
        # symlink to its target, and symlinked parent directories to the real one.
        real = os.path.realpath(path)
        try:
            parent = os.stat(os.path.dirname(real) or ".")
        except OSError:
            return None  # no such directory: opening it fails with its own message
        return ("new", parent.st_dev, parent.st_ino, os.path.basename(real))
    except OSError:
        return None
    kind = "file" if stat.S_ISREG(st.st_mode) else "other"  # a pipe, a device ...
    return (kind, st.st_dev, st.st_ino, "")


def _shown(role: Role) -> str:
    if role.path == "-":
        return f"{role.what} (standard {'output' if role.writes else 'input'})"
    return f"{role.what} {role.path!r}"


def first_clash(roles: Sequence[Role]) -> str | None:
    """Why these paths cannot be used together (the first clash), or None.

    Refused: a written path that is the same file as any other path of the job, and
    a report path holding an aiomsg journal.
    """
    keys = [
        file_key(r.path, stream_fd=(1 if r.writes else 0) if r.path == "-" else None) for r in roles
    ]
    for i, a in enumerate(roles):
        for j in range(i):
            b = roles[j]
            if keys[i] is None or keys[i] != keys[j] or not (a.writes or b.writes):
                continue
            return f"{_shown(b)} and {_shown(a)} are the same file"
    for role, key in zip(roles, keys, strict=True):
        if role.what == "--report" and key is not None and key[0] == "file":
            if role.path != "-" and is_journal(role.path):
                return f"{_shown(role)} is an aiomsg journal"
    return None


def secret_read_as_input(roles: Sequence[Role]) -> str | None:
    """Why a secret file cannot be used here: it is also another path of the job (the
    input, whose lines are echoed in errors and reports), or None."""
    keys = [file_key(r.path, stream_fd=0 if r.path == "-" else None) for r in roles]
    for i, a in enumerate(roles):
        for j in range(i):
            b = roles[j]
            if keys[i] is not None and keys[i] == keys[j] and a.secret != b.secret:
                return f"{_shown(b)} and {_shown(a)} are the same file"
    return None
