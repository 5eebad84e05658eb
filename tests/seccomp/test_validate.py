"""Profile validation: one sample profile per defect class."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from hardbase.scan.findings import Severity
from hardbase.seccomp.model import ProfileSchemaError, load_profile
from hardbase.seccomp.validate import ProfileFinding, schema_findings, validate_profile

ASSETS = REPO / "tests" / "assets" / "seccomp"
CONTAINERS_PROFILE = Path("/usr/share/containers/seccomp.json")


def findings_of(name: str) -> list[ProfileFinding]:
    return validate_profile(load_profile(ASSETS / name))


def with_id(findings: list[ProfileFinding], rule_id: str) -> list[ProfileFinding]:
    return [f for f in findings if f.rule_id == rule_id]


def test_clean_allowlist_has_no_findings() -> None:
    assert findings_of("clean-allowlist.json") == []


def test_schema_error_reported_with_path() -> None:
    with pytest.raises(ProfileSchemaError) as caught:
        load_profile(ASSETS / "schema-error.json")

    findings = schema_findings(caught.value)

    assert [f.rule_id for f in findings] == ["HB-SECCOMP-001"]
    assert findings[0].path == "syscalls[3].action"
    assert findings[0].severity is Severity.CRITICAL


def test_unknown_action_found() -> None:
    found = with_id(findings_of("unknown-action.json"), "HB-SECCOMP-002")

    assert [f.path for f in found] == ["syscalls[1].action"]
    assert "SCMP_ACT_DENY" in found[0].title
    assert found[0].severity is Severity.CRITICAL


def test_unknown_architecture_found() -> None:
    found = with_id(findings_of("unknown-architecture.json"), "HB-SECCOMP-003")

    assert [f.path for f in found] == ["architectures[1]"]
    assert "SCMP_ARCH_AMD64" in found[0].title


def test_unknown_syscall_found() -> None:
    found = with_id(findings_of("unknown-syscall.json"), "HB-SECCOMP-004")

    assert [f.path for f in found] == ["syscalls[0].names[4]"]
    assert "'mkdri'" in found[0].title
    assert found[0].evidence["libseccomp"].startswith("2.")


def test_shadowed_rule_says_first_wins() -> None:
    found = with_id(findings_of("shadowed-rule.json"), "HB-SECCOMP-005")

    assert [f.path for f in found] == ["syscalls[1].names[0]"]
    assert "keep the first rule, syscalls[0].names[4]" in found[0].title


def test_conflicting_conditional_rules_found() -> None:
    found = with_id(findings_of("conflicting-conditional-rules.json"), "HB-SECCOMP-006")

    assert [f.path for f in found] == ["syscalls[2].names[0]"]
    assert "EEXIST" in found[0].title
    assert found[0].severity is Severity.CRITICAL


def test_allow_by_default_flagged_weak() -> None:
    found = with_id(findings_of("allow-by-default.json"), "HB-SECCOMP-007")

    assert [f.path for f in found] == ["defaultAction"]
    assert found[0].severity is Severity.HIGH


def test_sibling_bypass_names_mkdirat() -> None:
    found = with_id(findings_of("sibling-bypass.json"), "HB-SECCOMP-008")

    assert [f.path for f in found] == ["syscalls[1].names[0]"]
    assert found[0].evidence["sibling"] == "mkdirat"
    assert "SCMP_ARCH_X86_64" in found[0].evidence["architectures"]


def test_sibling_bypass_absent_when_both_denied() -> None:
    found = with_id(findings_of("deny-mkdir-and-mkdirat.json"), "HB-SECCOMP-008")

    assert found == []


def test_errno_on_allow_found() -> None:
    found = with_id(findings_of("errno-on-allow.json"), "HB-SECCOMP-009")

    assert [f.path for f in found] == ["syscalls[0].errnoRet"]


def test_containers_profile_setns_rule_is_shadowed() -> None:
    # containers-common 0.50 allows setns unconditionally and later denies it
    # without CAP_SYS_ADMIN; libseccomp keeps the first rule.
    if not CONTAINERS_PROFILE.is_file():
        pytest.skip("containers-common is not installed")
    profile = load_profile(CONTAINERS_PROFILE)
    if not any(r.excludes and r.excludes.caps and "setns" in r.all_names for r in profile.rules):
        pytest.skip("this containers-common version has no capability-gated setns rule")

    found = with_id(validate_profile(profile), "HB-SECCOMP-005")

    assert any(f.evidence["syscall"] == "setns" for f in found)
