"""Triage of real match output by ignore files, OpenVEX documents and filters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from advisory_fixtures import bookworm_mixed_inventory, match_bookworm_mixed
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.triage import (
    IgnoreFileError,
    TriageOptions,
    TriageResult,
    VexError,
    apply_triage,
    load_ignore_file,
    load_vex,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "scan"
IGNORE = ASSETS / "ignore"
VEX = ASSETS / "vex"
TODAY = date(2025, 1, 1)
IMAGE_DIGEST = "sha256:" + "1" * 64


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    """Findings of the bookworm-mixed asset, plus one hardening finding.

    CVE-2024-0727 is found twice (openssl 3.0.11 for libssl3 and openssl, and
    openssl 1.1.1n for libssl1.1), CVE-2023-4154 once (samba), CVE-2024-2961 once
    (glibc, no fix) and CVE-2023-5678 once (openssl 3.0.11, medium).
    """
    result = match_bookworm_mixed(bookworm_mixed_inventory())
    hardening = Finding(
        rule_id="HB-USER-001",
        kind=FindingKind.HARDENING,
        severity=Severity.MEDIUM,
        title="the image runs as root",
        fix="set USER",
    )
    return [*result.findings, hardening]


def triage(findings: list[Finding], **options: object) -> TriageResult:
    return apply_triage(findings, TriageOptions(today=TODAY, **options))  # type: ignore[arg-type]


def hidden(result: TriageResult) -> dict[tuple[str, str], str]:
    return {
        (f.rule_id, str(f.evidence.get("source_version", ""))): reason
        for f, reason in result.suppressed
    }


def test_findings_fixture_shape(findings: list[Finding]) -> None:
    assert sorted(f.rule_id for f in findings) == [
        "CVE-2023-4154",
        "CVE-2023-5678",
        "CVE-2024-0727",
        "CVE-2024-0727",
        "CVE-2024-2961",
        "HB-USER-001",
    ]


def test_no_options_shows_everything(findings: list[Finding]) -> None:
    result = triage(findings)
    assert len(result.shown) == 6
    assert result.suppressed == ()
    assert result.counts == {"shown": 6}


def test_ignore_entry_hides_by_source_package(findings: list[Finding]) -> None:
    result = triage(findings, ignore_file=IGNORE / "valid-and-expired.yaml")
    reasons = hidden(result)
    assert reasons[("CVE-2024-0727", "3.0.11-1~deb12u2")].startswith(
        "ignored: PKCS12 files are not parsed in this image ("
    )
    assert ("CVE-2024-0727", "1.1.1n-0+deb11u5") in reasons
    assert "line 2, until 2099-12-31" in reasons[("CVE-2024-0727", "3.0.11-1~deb12u2")]


def test_ignore_entry_hides_hardening_rule(findings: list[Finding]) -> None:
    result = triage(findings, ignore_file=IGNORE / "valid-and-expired.yaml")
    assert "HB-USER-001" not in [f.rule_id for f in result.shown]


def test_expired_entry_shows_and_warns(findings: list[Finding]) -> None:
    result = triage(findings, ignore_file=IGNORE / "valid-and-expired.yaml")
    assert "CVE-2023-4154" in [f.rule_id for f in result.shown]
    assert len(result.warnings) == 1
    assert "line 7" in result.warnings[0]
    assert "CVE-2023-4154 expired on 2020-01-31" in result.warnings[0]


def test_ignore_counts_by_reason(findings: list[Finding]) -> None:
    result = triage(findings, ignore_file=IGNORE / "valid-and-expired.yaml")
    assert result.counts == {"shown": 3, "ignored": 3}


def test_ignore_entry_package_limits_match(findings: list[Finding]) -> None:
    rules = load_ignore_file(IGNORE / "valid-and-expired.yaml")
    bash_finding = next(f for f in findings if f.rule_id == "CVE-2023-5678")
    assert rules[0].entry.package == "openssl"
    assert not rules[0].matches(bash_finding)


def test_ignore_unknown_key_names_key_and_line() -> None:
    with pytest.raises(IgnoreFileError) as caught:
        load_ignore_file(IGNORE / "unknown-key.yaml")
    message = str(caught.value)
    assert "unknown-key.yaml line 5" in message
    assert "'pacakge'" in message


def test_ignore_missing_reason() -> None:
    with pytest.raises(IgnoreFileError) as caught:
        load_ignore_file(IGNORE / "missing-reason.yaml")
    assert "missing-reason.yaml line 1" in str(caught.value)
    assert "'reason'" in str(caught.value)


def test_ignore_top_level_not_list() -> None:
    with pytest.raises(IgnoreFileError, match=r"not-a-list\.yaml line 1: expected a list"):
        load_ignore_file(IGNORE / "not-a-list.yaml")


def test_ignore_invalid_date() -> None:
    with pytest.raises(IgnoreFileError) as caught:
        load_ignore_file(IGNORE / "bad-date.yaml")
    assert "bad-date.yaml line 3" in str(caught.value)
    assert "'expires'" in str(caught.value)


def test_ignore_broken_yaml() -> None:
    with pytest.raises(
        IgnoreFileError,
        match=r"broken-yaml\.yaml line 2: invalid YAML: while scanning a quoted scalar",
    ):
        load_ignore_file(IGNORE / "broken-yaml.yaml")


def test_ignore_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IgnoreFileError, match="cannot be read"):
        load_ignore_file(tmp_path / ".hardbase-ignore.yaml")


def test_vex_not_affected_hides_named_package(findings: list[Finding]) -> None:
    result = triage(findings, vex_files=(VEX / "statements.json",))
    reasons = hidden(result)
    assert reasons[("CVE-2024-0727", "3.0.11-1~deb12u2")] == (
        "vex-not-affected: vulnerable_code_not_in_execute_path (statements.json statement 1)"
    )
    assert ("CVE-2024-0727", "1.1.1n-0+deb11u5") not in reasons


def test_vex_fixed_through_image_subcomponent(findings: list[Finding]) -> None:
    result = triage(findings, vex_files=(VEX / "statements.json",), image_ids=(IMAGE_DIGEST,))
    reasons = hidden(result)
    assert reasons[("CVE-2023-4154", "2:4.17.12+dfsg-0+deb12u1")] == (
        "vex-fixed: patched in the image build (statements.json statement 2)"
    )


def test_vex_image_product_needs_image_id(findings: list[Finding]) -> None:
    result = triage(findings, vex_files=(VEX / "statements.json",))
    assert "CVE-2023-4154" in [f.rule_id for f in result.shown]


def test_vex_later_affected_keeps_finding(findings: list[Finding]) -> None:
    # Statement 4 (not_affected) is dated before the document, so statement 3 wins.
    result = triage(findings, vex_files=(VEX / "statements.json",))
    glibc = next(f for f in result.shown if f.rule_id == "CVE-2024-2961")
    assert glibc.evidence["vex"] == "affected (statements.json statement 3)"


def test_vex_counts_by_reason(findings: list[Finding]) -> None:
    result = triage(findings, vex_files=(VEX / "statements.json",), image_ids=(IMAGE_DIGEST,))
    assert result.counts == {"shown": 4, "vex-not-affected": 1, "vex-fixed": 1}


def test_vex_before_ignore_file(findings: list[Finding]) -> None:
    result = triage(
        findings,
        vex_files=(VEX / "statements.json",),
        ignore_file=IGNORE / "valid-and-expired.yaml",
    )
    reasons = hidden(result)
    assert reasons[("CVE-2024-0727", "3.0.11-1~deb12u2")].startswith("vex-not-affected:")
    assert reasons[("CVE-2024-0727", "1.1.1n-0+deb11u5")].startswith("ignored:")


def test_vex_unknown_status_rejected() -> None:
    with pytest.raises(VexError) as caught:
        load_vex(VEX / "unknown-status.json")
    assert "unknown-status.json" in str(caught.value)
    assert "statements[0].status" in str(caught.value)


def test_vex_not_affected_needs_justification() -> None:
    with pytest.raises(VexError, match="justification"):
        load_vex(VEX / "not-affected-without-justification.json")


def test_vex_truncated_json() -> None:
    with pytest.raises(VexError, match=r"truncated\.json line 2 column 1: invalid JSON"):
        load_vex(VEX / "truncated.json")


def test_only_fixed_hides_unfixed_vulnerability(findings: list[Finding]) -> None:
    result = triage(findings, only_fixed=True)
    assert hidden(result)[("CVE-2024-2961", "2.36-9+deb12u4")].startswith("not-fixed:")
    assert "HB-USER-001" in [f.rule_id for f in result.shown]
    assert result.counts == {"shown": 5, "not-fixed": 1}


def test_severity_list_filters(findings: list[Finding]) -> None:
    result = triage(findings, severities=frozenset({Severity.HIGH}))
    assert sorted(f.rule_id for f in result.shown) == ["CVE-2023-4154", "CVE-2024-2961"]
    assert result.counts == {"shown": 2, "severity": 4}
