"""`hardbase seccomp validate` and `diff` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

ASSETS = REPO / "tests" / "assets" / "seccomp"
HARDBASE = [sys.executable, "-m", "hardbase"]


def hardbase(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, *arguments], capture_output=True, text=True, check=False, timeout=120
    )


def test_malformed_json_one_line_with_place() -> None:
    result = hardbase("seccomp", "validate", str(ASSETS / "malformed.json"))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "malformed.json" in lines[0]
    assert "line 5, column 3" in lines[0]
    assert "Traceback" not in result.stderr


def test_validate_json_lists_schema_path() -> None:
    result = hardbase("seccomp", "validate", "--format", "json", str(ASSETS / "schema-error.json"))

    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [f["path"] for f in findings] == ["syscalls[3].action"]


def test_fail_on_reached_exits_one() -> None:
    result = hardbase(
        "seccomp", "validate", "--fail-on", "high", str(ASSETS / "allow-by-default.json")
    )

    assert result.returncode == 1
    assert "HB-SECCOMP-007" in result.stdout


def test_fail_on_not_reached_exits_zero() -> None:
    result = hardbase(
        "seccomp", "validate", "--fail-on", "critical", str(ASSETS / "allow-by-default.json")
    )

    assert result.returncode == 0


def test_validate_fails_on_high_by_default() -> None:
    result = hardbase("seccomp", "validate", str(ASSETS / "allow-by-default.json"))

    assert result.returncode == 1
    assert "HB-SECCOMP-007" in result.stdout


def test_validate_fail_on_none_exits_zero() -> None:
    result = hardbase(
        "seccomp", "validate", "--fail-on", "none", str(ASSETS / "unknown-action.json")
    )

    assert result.returncode == 0
    assert "HB-SECCOMP-002" in result.stdout


def test_clean_profile_exits_zero() -> None:
    result = hardbase(
        "seccomp", "validate", "--fail-on", "low", str(ASSETS / "clean-allowlist.json")
    )

    assert result.returncode == 0
    assert "0 findings" in result.stdout


def test_run_with_broken_profile_is_one_line() -> None:
    result = hardbase("seccomp", "run", str(ASSETS / "schema-error.json"), "--", "/bin/true")

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "syscalls[3].action" in result.stderr


def test_diff_json_names_syscall() -> None:
    result = hardbase(
        "seccomp",
        "diff",
        "--format",
        "json",
        str(ASSETS / "deny-mkdir.json"),
        str(ASSETS / "deny-mkdir-and-mkdirat.json"),
    )

    assert result.returncode == 0, result.stderr
    differences = json.loads(result.stdout)["differences"]
    assert [d["syscall"] for d in differences] == ["mkdirat"]
    assert differences[0]["first"]["verdict"] == "allow"
    assert differences[0]["second"]["rule"] == "syscalls[0].names[1]"


def test_diff_table_shows_verdicts() -> None:
    result = hardbase(
        "seccomp",
        "diff",
        str(ASSETS / "deny-mkdir.json"),
        str(ASSETS / "deny-mkdir-and-mkdirat.json"),
    )

    assert result.returncode == 0
    assert "mkdirat" in result.stdout
    assert "1 differences" in result.stdout


def test_validate_sarif_points_at_line() -> None:
    result = hardbase("seccomp", "validate", "--format", "sarif", str(ASSETS / "schema-error.json"))

    assert result.returncode == 1
    run = json.loads(result.stdout)["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["HB-SECCOMP-001"]
    location = run["results"][0]["locations"][0]
    assert location["physicalLocation"]["region"]["startLine"] == 7
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "syscalls[3].action"


def test_validate_sarif_rule_text_from_checks() -> None:
    result = hardbase(
        "seccomp", "validate", "--format", "sarif", str(ASSETS / "shadowed-rule.json")
    )

    run = json.loads(result.stdout)["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["id"] == "HB-SECCOMP-005"
    assert rule["shortDescription"]["text"] == ("rule shadowed by an earlier or unconditional rule")
    assert rule["properties"]["security-severity"] == "5.5"
