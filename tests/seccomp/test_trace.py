"""strace log parsing on real logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from hardbase.errors import InputError
from hardbase.seccomp import arch as archmod
from hardbase.seccomp.trace import parse_strace_log, read_trace

ASSETS = REPO / "tests" / "assets" / "seccomp"


def test_unfinished_and_resumed_lines_counted() -> None:
    trace = read_trace(ASSETS / "strace-f-unfinished-resumed.log")

    assert {"execve", "set_robust_list", "newfstatat", "wait4", "exit_group"} <= trace.syscalls
    assert trace.unparsed_lines == 0
    assert len(trace.pids) >= 3


def test_exit_and_signal_lines_are_not_syscalls() -> None:
    trace = read_trace(ASSETS / "strace-f-unfinished-resumed.log")

    assert "SIGCHLD" not in trace.syscalls
    assert not any(name.startswith(("+", "-")) for name in trace.syscalls)


def test_filtered_trace_is_detected() -> None:
    trace = read_trace(ASSETS / "strace-trace-file-filter.log")

    assert trace.looks_filtered
    assert "execve" in trace.syscalls


def test_full_trace_not_filtered() -> None:
    assert not read_trace(ASSETS / "strace-f-unfinished-resumed.log").looks_filtered


def test_bracket_pids_and_timestamps_parsed() -> None:
    text = (
        '[pid  4242] 12:00:01.123456 openat(AT_FDCWD, "/etc", O_RDONLY) = 3\n'
        "4243 1700000000.000001 close(3) = 0\n"
        'read(0, "", 1) = 0\n'
    )

    trace = parse_strace_log(text)

    assert trace.syscalls == {"openat", "close", "read"}
    assert trace.pids == {4242, 4243}


def test_unknown_number_resolved_through_libseccomp() -> None:
    if archmod.host().scmp != "SCMP_ARCH_X86_64":
        pytest.skip("syscall 0x53 is mkdir on x86_64 only")

    trace = parse_strace_log("syscall_0x53(0x1, 0x2) = -1 ENOSYS\n")

    assert trace.syscalls == {"mkdir"}


def test_empty_trace_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_text("+++ exited with 0 +++\n")

    with pytest.raises(InputError, match="no syscalls"):
        read_trace(path)
