"""Read the syscalls a program made from an strace log.

Handles what ``strace -f`` writes: a pid before each line (``1234 `` with
``-o``, ``[pid 1234] `` on standard error), optional ``-t``/``-tt``/``-ttt``
timestamps, calls split into ``<unfinished ...>`` and ``<... NAME resumed>``
lines, ``+++ exited with N +++`` and ``--- SIGCHLD {...} ---`` events,
personality switches, and ``syscall_0x1b6`` for numbers strace cannot name.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import InputError
from hardbase.seccomp import arch as archmod

logger = logging.getLogger(__name__)

#: Traces of long-running programs reach a few hundred megabytes; beyond that, refuse.
MAX_TRACE_BYTES = 1024 * 1024 * 1024

# Linux pids fit in 22 bits; longer digit runs are not pids (and int() of
# more than 4300 digits raises).
_PREFIX = re.compile(
    r"^(?:\[pid\s+(?P<bracket_pid>\d{1,10})\]\s+|(?P<pid>\d{1,10})\s+)?"
    r"(?:\d+\.\d+\s+|\d\d:\d\d:\d\d(?:\.\d+)?\s+)?"
)
_CALL = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\(")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[a-z_][a-z0-9_]*) resumed>")
_UNKNOWN_NUMBER = re.compile(r"^syscall_0x(?P<number>[0-9a-f]{1,8})$")
# Syscalls every dynamically or statically linked program makes to get memory;
# a trace without any of them was filtered with -e trace=...
_MEMORY_SYSCALLS = frozenset({"brk", "mmap", "mmap2"})


@dataclass(frozen=True)
class Trace:
    """What one or more strace logs show."""

    syscalls: frozenset[str]
    pids: frozenset[int]
    unparsed_lines: int
    """Lines that were neither a syscall nor an event: shown in logs, not fatal."""

    @property
    def looks_filtered(self) -> bool:
        """True when the log lacks the memory syscalls every process makes (``-e trace=``)."""
        return bool(self.syscalls) and not self.syscalls & _MEMORY_SYSCALLS

    def merge(self, other: Trace) -> Trace:
        """Return the union of two traces."""
        return Trace(
            self.syscalls | other.syscalls,
            self.pids | other.pids,
            self.unparsed_lines + other.unparsed_lines,
        )


def _name_of_number(text: str) -> str:
    match = _UNKNOWN_NUMBER.match(text)
    if match is None:
        return text
    found = archmod.name_of(archmod.host(), int(match.group("number"), 16))
    return found or text


def parse_strace_log(text: str | Iterable[str]) -> Trace:
    """Return the syscalls, pids and unparsed line count of strace output.

    ``text`` is the whole log or an iterable of its lines, such as an open file.
    """
    syscalls: set[str] = set()
    pids: set[int] = set()
    unparsed = 0
    for line in text.splitlines() if isinstance(text, str) else text:
        if not line.strip():
            continue
        prefix = _PREFIX.match(line)
        assert prefix is not None  # the pattern can match the empty string
        pid_text = prefix.group("pid") or prefix.group("bracket_pid")
        if pid_text:
            pids.add(int(pid_text))
        rest = line[prefix.end() :]
        if rest.startswith(("+++ ", "--- ", "[ Process PID=")):
            continue
        match = _CALL.match(rest) or _RESUMED.match(rest)
        if match is None:
            unparsed += 1
            logger.debug("strace line not understood: %.120s", line)
            continue
        syscalls.add(_name_of_number(match.group("name")))
    return Trace(frozenset(syscalls), frozenset(pids), unparsed)


def read_trace(path: Path) -> Trace:
    """Read and parse the strace log at ``path``; raises InputError when it is unusable.

    The log is read line by line, so its size costs time, not memory. A file
    that is not a regular file, has a NUL byte, or whose lines are mostly not
    strace output is rejected rather than turned into a profile.
    """
    try:
        # O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InputError(
            f"{path}: cannot read trace: {error.strerror}", hint="check the path"
        ) from error
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise InputError(f"{path}: not a regular file", hint="give the path of an strace log")
        if status.st_size > MAX_TRACE_BYTES:
            raise InputError(
                f"{path}: trace larger than {MAX_TRACE_BYTES // 1024**3} GiB",
                hint="record a shorter run of the program",
            )
        lines = _TextLines(handle, path)
        try:
            trace = parse_strace_log(lines)
        except OSError as error:
            raise InputError(
                f"{path}: cannot read trace: {error.strerror}", hint="check the path"
            ) from error
    if not trace.syscalls:
        raise InputError(
            f"{path}: no syscalls found in the trace",
            hint="give a log written by 'strace -f -o FILE COMMAND'",
        )
    if trace.unparsed_lines * 2 > lines.count:
        raise InputError(
            f"{path}: {trace.unparsed_lines} of {lines.count} lines are not strace output",
            hint="give a log written by 'strace -f -o FILE COMMAND'",
        )
    return trace


class _TextLines:
    """The lines of a log without their newline, counting the non-blank ones."""

    def __init__(self, handle: Iterable[str], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.handle:
            if "\0" in line:
                raise InputError(
                    f"{self.path}: binary data, not an strace log",
                    hint="give a log written by 'strace -f -o FILE COMMAND'",
                )
            if line.strip():
                self.count += 1
            yield line.rstrip("\n")
