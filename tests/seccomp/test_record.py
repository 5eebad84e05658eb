"""Record a real command, then run it under the recorded profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from hardbase.seccomp import arch as archmod
from hardbase.seccomp.generate import generate_profile
from hardbase.seccomp.runtime import RUNTIME_SYSCALLS
from hardbase.seccomp.trace import read_trace
from hardbase.seccomp.validate import validate_profile

ASSETS = REPO / "tests" / "assets" / "seccomp"
HARDBASE = [sys.executable, "-m", "hardbase"]


def hardbase(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, *arguments], capture_output=True, text=True, check=False, timeout=300
    )


def record_ls(tmp_path: Path) -> Path:
    profile = tmp_path / "ls.json"
    result = hardbase("seccomp", "record", "--output", str(profile), "--", "ls", "-l", "/")
    assert result.returncode == 0, result.stderr
    return profile


def test_recorded_profile_is_allowlist(tmp_path: Path) -> None:
    document = json.loads(record_ls(tmp_path).read_text())

    assert document["defaultAction"] == "SCMP_ACT_ERRNO"
    assert document["defaultErrnoRet"] == 1
    assert "architectures" not in document
    names = {name for rule in document["syscalls"] for name in rule["names"]}
    assert {"execve", "getdents64", "write"} <= names


def test_recorded_profile_runs_the_command(tmp_path: Path) -> None:
    profile = record_ls(tmp_path)

    result = hardbase("seccomp", "run", str(profile), "--", "ls", "-l", "/")

    assert result.returncode == 0, result.stderr
    assert " etc" in result.stdout
    assert " usr" in result.stdout


def test_recorded_profile_denies_mkdir(tmp_path: Path) -> None:
    profile = record_ls(tmp_path)
    target = tmp_path / "never"

    result = hardbase("seccomp", "run", str(profile), "--", "/bin/mkdir", str(target))

    assert result.returncode == 1
    assert "Operation not permitted" in result.stderr
    assert not target.exists()


def test_recorded_profile_validates_clean(tmp_path: Path) -> None:
    result = hardbase(
        "seccomp", "validate", "--format", "json", "--fail-on", "low", str(record_ls(tmp_path))
    )

    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def test_generate_merges_traces() -> None:
    first = read_trace(ASSETS / "strace-f-unfinished-resumed.log")
    second = read_trace(ASSETS / "strace-trace-file-filter.log")

    generated = generate_profile([first, second])

    assert first.syscalls <= generated.traced | generated.dropped
    assert second.syscalls <= generated.traced | generated.dropped


def test_generate_adds_runtime_syscalls() -> None:
    generated = generate_profile([read_trace(ASSETS / "strace-trace-file-filter.log")])

    allowed = {name for rule in generated.profile.rules for name in rule.all_names}
    assert {"execve", "close_range", "capset", "futex"} <= allowed
    assert generated.added <= set(RUNTIME_SYSCALLS)
    assert validate_profile(generated.profile) == []


def test_generate_cli_writes_archmap(tmp_path: Path) -> None:
    output = tmp_path / "profile.json"

    result = hardbase(
        "seccomp",
        "generate",
        str(ASSETS / "strace-f-unfinished-resumed.log"),
        "--output",
        str(output),
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    entry = document["archMap"][0]
    assert entry["architecture"] == archmod.host().scmp
    assert tuple(entry["subArchitectures"]) == archmod.SUB_ARCHITECTURES[entry["architecture"]]


def test_generate_warns_on_filtered_trace(tmp_path: Path) -> None:
    result = hardbase(
        "seccomp",
        "generate",
        str(ASSETS / "strace-trace-file-filter.log"),
        "-o",
        str(tmp_path / "p.json"),
    )

    assert result.returncode == 0
    assert "-e trace=" in result.stderr
