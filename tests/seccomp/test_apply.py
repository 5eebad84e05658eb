"""`seccomp run` semantics: a real filter on real commands, and the mkdir/mkdirat bypass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from hardbase.errors import InputError
from hardbase.seccomp.apply import build_filter, run_with_profile
from hardbase.seccomp.model import load_profile, parse_profile
from hardbase.seccomp.rules import Context
from hardbase.seccomp.validate import validate_profile
from hardbase.tools import strace

ASSETS = REPO / "tests" / "assets" / "seccomp"
HARDBASE = [sys.executable, "-m", "hardbase"]
MKDIR = "/bin/mkdir"
# Python's os.mkdir with dir_fd calls mkdirat, a sibling coreutils may not use.
MKDIRAT_SCRIPT = "import os, sys; os.mkdir(sys.argv[1], dir_fd=os.open('/', os.O_RDONLY))"


def hardbase(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, *arguments], capture_output=True, text=True, check=False, timeout=120
    )


def coreutils_mkdir_syscalls(tmp_path: Path) -> set[str]:
    from hardbase.seccomp.trace import read_trace

    log = tmp_path / "mkdir.log"
    strace.trace([MKDIR, str(tmp_path / "traced")], log)
    return set(read_trace(log).syscalls) & {"mkdir", "mkdirat"}


def test_coreutils_mkdir_syscall_on_this_machine(tmp_path: Path) -> None:
    used = coreutils_mkdir_syscalls(tmp_path)

    assert len(used) == 1


def test_deny_mkdir_profile_blocks_or_is_bypassed(tmp_path: Path) -> None:
    used = coreutils_mkdir_syscalls(tmp_path)
    target = tmp_path / "made-by-mkdir"

    result = hardbase("seccomp", "run", str(ASSETS / "deny-mkdir.json"), "--", MKDIR, str(target))

    if used == {"mkdir"}:
        assert result.returncode == 1
        assert "Operation not permitted" in result.stderr
        assert not target.exists()
    else:
        # coreutils calls mkdirat here: denying mkdir alone does not stop it.
        assert result.returncode == 0
        assert target.is_dir()


def test_deny_mkdir_lets_other_commands_run(tmp_path: Path) -> None:
    result = hardbase("seccomp", "run", str(ASSETS / "deny-mkdir.json"), "--", "/bin/ls", "-d", "/")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/"


def test_mkdirat_bypasses_deny_mkdir(tmp_path: Path) -> None:
    target = tmp_path / "made-by-mkdirat"
    profile = load_profile(ASSETS / "deny-mkdir.json")
    command = ["/usr/bin/python3", "-c", MKDIRAT_SCRIPT, str(target).lstrip("/")]

    status = run_with_profile(profile, command, Context.of_this_machine())

    assert status == 0
    assert target.is_dir()
    assert any(f.rule_id == "HB-SECCOMP-008" for f in validate_profile(profile))


def test_deny_both_stops_mkdirat(tmp_path: Path) -> None:
    target = tmp_path / "blocked"
    profile = load_profile(ASSETS / "deny-mkdir-and-mkdirat.json")
    command = ["/usr/bin/python3", "-c", MKDIRAT_SCRIPT, str(target).lstrip("/")]

    status = run_with_profile(profile, command, Context.of_this_machine())

    assert status == 1
    assert not target.exists()


def test_deny_both_stops_coreutils_mkdir(tmp_path: Path) -> None:
    target = tmp_path / "blocked"

    result = hardbase(
        "seccomp", "run", str(ASSETS / "deny-mkdir-and-mkdirat.json"), "--", MKDIR, str(target)
    )

    assert result.returncode == 1
    assert "Operation not permitted" in result.stderr
    assert not target.exists()


def test_argument_condition_applies(tmp_path: Path) -> None:
    # Deny mkdir only with mode 0700: the default mode 0777 still works.
    text = (
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
        '"action": "SCMP_ACT_ERRNO", "errnoRet": 13, '
        '"args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}]}'
    )
    profile = parse_profile(text, "mode condition")
    if coreutils_mkdir_syscalls(tmp_path) != {"mkdir"}:
        pytest.skip("coreutils mkdir passes the mode as argument 2 (mkdirat) here")

    allowed = run_with_profile(profile, [MKDIR, str(tmp_path / "a")], Context.of_this_machine())
    denied = run_with_profile(
        profile, [MKDIR, "-m", "700", str(tmp_path / "b")], Context.of_this_machine()
    )

    assert allowed == 0
    assert denied == 1
    assert not (tmp_path / "b").exists()


def test_conflicting_rules_rejected_as_runc_does() -> None:
    profile = load_profile(ASSETS / "conflicting-conditional-rules.json")

    with pytest.raises(InputError, match=r"EEXIST|File exists"):
        build_filter(profile, Context.of_this_machine(), "conflict")


def test_unknown_action_rejected() -> None:
    profile = load_profile(ASSETS / "unknown-action.json")

    with pytest.raises(InputError, match=r"syscalls\[1\]\.action"):
        build_filter(profile, Context.of_this_machine())


def test_exit_status_of_command_returned() -> None:
    profile = load_profile(ASSETS / "deny-mkdir.json")

    status = run_with_profile(profile, ["/bin/sh", "-c", "exit 7"], Context.of_this_machine())

    assert status == 7
