"""Read the syscalls a program made from an strace log.

Handles what ``strace -f`` writes: a pid before each line (``1234 `` with
``-o``, ``[pid 1234] `` on standard error), optional ``-t``/``-tt``/``-ttt``
timestamps, calls split into ``<unfinished ...>`` and ``<... NAME resumed>``
lines, ``+++ exited with N +++`` and ``--- SIGCHLD {...} ---`` events,
personality switches, and ``syscall_0x1b6`` for numbers strace cannot name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import InputError
from hardbase.seccomp import arch as archmod

logger = logging.getLogger(__name__)

#: Traces of long-running programs reach a few hundred megabytes; beyond that, refuse.
MAX_TRACE_BYTES = 1024 * 1024 * 1024

_PREFIX = re.compile(
    r"^(?:\[pid\s+(?P<bracket_pid>\d+)\]\s+|(?P<pid>\d+)\s+)?"
    r"(?:\d+\.\d+\s+|\d\d:\d\d:\d\d(?:\.\d+)?\s+)?"
)
_CALL = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\(")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>[a-z_][a-z0-9_]*) resumed>")
_UNKNOWN_NUMBER = re.compile(r"^syscall_0x(?P<number>[0-9a-f]+)$")
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


def parse_strace_log(text: str) -> Trace:
    """Return the syscalls, pids and unparsed line count of strace output ``text``."""
    syscalls: set[str] = set()
    pids: set[int] = set()
    unparsed = 0
    for line in text.splitlines():
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
    """Read and parse the strace log at ``path``; raises InputError when it is unusable."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(
            f"{path}: cannot read trace: {error.strerror}", hint="check the path"
        ) from error
    if size > MAX_TRACE_BYTES:
        raise InputError(
            f"{path}: trace larger than {MAX_TRACE_BYTES // 1024**3} GiB",
            hint="record a shorter run of the program",
        )
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(
            f"{path}: cannot read trace: {error.strerror}", hint="check the path"
        ) from error
    trace = parse_strace_log(text)
    if not trace.syscalls:
        raise InputError(
            f"{path}: no syscalls found in the trace",
            hint="give a log written by 'strace -f -o FILE COMMAND'",
        )
    return trace
