"""Hostile seccomp profiles and strace logs given to ``hardbase seccomp``.

Bad input gets one line on standard error that names the file, and exit
status 2, never a traceback, a hang or runaway memory. ``validate`` reports
schema problems as findings and exits 1. Names from a profile reach the
terminal neither as control sequences nor as console markup.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

HARDBASE = [sys.executable, "-m", "hardbase"]


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, "seccomp", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), "COLUMNS": "100"},
    )


def _profile(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(document))
    return path


MARKUP_PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [{"names": ["[/x]", "read\x1b[2J"], "action": "SCMP_ACT_ALLOW"}],
}


def test_validate_table_shows_markup_names(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "markup.json", MARKUP_PROFILE)

    result = _cli("validate", str(profile), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "'[/x]'" in result.stdout


def test_validate_table_escapes_control_characters(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "markup.json", MARKUP_PROFILE)

    result = _cli("validate", str(profile), cwd=tmp_path)

    assert "\x1b" not in result.stdout
    assert "read\\x1b[2J" in result.stdout


def test_diff_table_shows_markup_file_names(tmp_path: Path) -> None:
    first = _profile(tmp_path, "[bold]a.json", {"defaultAction": "SCMP_ACT_ALLOW"})
    # A folder named "b[" holding "i]" puts a closing tag into the path.
    (tmp_path / "b[" / "i]").mkdir(parents=True)
    second = _profile(tmp_path / "b[" / "i]", "b.json", {"defaultAction": "SCMP_ACT_ERRNO"})

    result = _cli(
        "diff", str(first.relative_to(tmp_path)), str(second.relative_to(tmp_path)), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "[bold]a.json" in result.stdout
    assert "b[/i]/b.json" in result.stdout


def test_profile_fifo_is_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "profile.json"
    os.mkfifo(fifo)

    result = _cli("validate", str(fifo), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{fifo}: not a regular file" in result.stderr


def test_profile_huge_integer_is_one_line(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": ' + "9" * 5000 + "}")

    result = _cli("validate", str(profile), cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{profile}: invalid JSON: a number of more than 4300 digits" in lines[0]


def test_too_many_rules_is_a_schema_finding(tmp_path: Path) -> None:
    rule = {"names": ["read"], "action": "SCMP_ACT_ALLOW"}
    profile = _profile(
        tmp_path, "rules.json", {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [rule] * 100_000}
    )

    result = _cli("validate", "--format", "json", str(profile), cwd=tmp_path)

    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [f["path"] for f in findings] == ["syscalls"]
    assert "100000 rules, more than the limit" in findings[0]["title"]


def test_too_many_names_stops_run(tmp_path: Path) -> None:
    rule = {"names": [f"call{i}" for i in range(100_000)], "action": "SCMP_ACT_ALLOW"}
    profile = _profile(
        tmp_path, "names.json", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}
    )

    result = _cli("run", str(profile), "--", "true", cwd=tmp_path)

    assert result.returncode == 2
    assert "100000 syscall names, more than the limit" in result.stderr


def test_repeated_name_validates(tmp_path: Path) -> None:
    # Each pair of entries for one name was compared: 16,000 repeats took minutes.
    rules = [
        {"names": ["read"] * 16_000, "action": "SCMP_ACT_ALLOW"},
        {"names": ["read"], "action": "SCMP_ACT_LOG"},
    ]
    profile = _profile(
        tmp_path, "repeated.json", {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}
    )

    result = _cli("validate", "--format", "json", str(profile), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [f["path"] for f in findings] == ["syscalls[1].names[0]"]


def test_trace_fifo_is_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "strace.log"
    os.mkfifo(fifo)

    result = _cli("generate", str(fifo), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{fifo}: not a regular file" in result.stderr


def test_trace_binary_garbage_is_rejected(tmp_path: Path) -> None:
    # Random bytes hold short runs such as "i(" that look like syscalls.
    log = tmp_path / "strace.log"
    log.write_bytes(bytes(range(256)) * 200 + b"\ni(\nq(\n")

    result = _cli("generate", str(log), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{log}: binary data, not an strace log" in result.stderr


def test_trace_mostly_text_garbage_is_rejected(tmp_path: Path) -> None:
    log = tmp_path / "notes.txt"
    log.write_text("shopping list\nfoo(bar)\nmilk\neggs\nbread\n")

    result = _cli("generate", str(log), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{log}: 4 of 5 lines are not strace output" in result.stderr


def test_trace_huge_pid_is_not_a_crash(tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    log.write_text("9" * 5000 + " read(3, '', 1) = 0\n1 brk(NULL) = 0x1\n1 mmap(NULL) = 0x2\n")

    result = _cli("generate", str(log), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "brk" in json.loads(result.stdout)["syscalls"][0]["names"]


def test_trace_ten_megabyte_line_is_read(tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    log.write_text("1 write(1, '" + "x" * 10_000_000 + "', 1) = 1\n1 brk(NULL) = 0x1\n")

    result = _cli("generate", str(log), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "write" in json.loads(result.stdout)["syscalls"][0]["names"]


def test_run_non_executable_blames_the_file(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "allow.json", {"defaultAction": "SCMP_ACT_ALLOW"})
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)

    result = _cli("run", str(profile), "--", str(script), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{script}: not an executable file" in result.stderr
    assert "execve" not in result.stderr


def test_run_killed_by_profile_says_so(tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        "kill.json",
        {
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "syscalls": [{"names": ["execve", "close_range"], "action": "SCMP_ACT_ALLOW"}],
        },
    )

    result = _cli("run", str(profile), "--", "/bin/true", cwd=tmp_path)

    assert result.returncode == 128 + signal.SIGSYS
    assert "/bin/true was killed by SIGSYS" in result.stderr


def test_run_profile_denying_execve_is_one_line(tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        "noexec.json",
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ERRNO"}],
        },
    )

    result = _cli("run", str(profile), "--", "/bin/true", cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "/bin/true: cannot start it under" in lines[0]
    assert "the profile must allow execve" in lines[0]
