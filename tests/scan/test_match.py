"""Matching verdicts on small inputs, one for each mistake a matcher can make."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from advisory_fixtures import MemorySource
from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.scan.findings import FindingKind, Severity
from hardbase.scan.match import (
    Decision,
    MatchResult,
    Verdict,
    match_vulnerabilities,
    severity_from_urgency,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "scan"
#: A date on which bookworm and Alpine 3.10 data are treated as current or past support
#: independently of the day the tests run.
BEFORE_BOOKWORM_EOL = date(2025, 1, 1)


def tracker(
    cve: str,
    package: str,
    release: str = "bookworm",
    status: AdvisoryStatus = AdvisoryStatus.FIXED,
    fixed: str | None = None,
    **fields: str,
) -> Advisory:
    return Advisory(
        source="debian-tracker",
        vulnerability_id=cve,
        distro="debian",
        release=release,
        package=package,
        status=status,
        fixed_version=fixed,
        record=cve,
        **fields,  # type: ignore[arg-type]
    )


def secdb(cve: str, package: str, fixed: str, release: str = "3.10") -> Advisory:
    return Advisory(
        source="alpine-secdb",
        vulnerability_id=cve,
        distro="alpine",
        release=release,
        package=package,
        status=AdvisoryStatus.FIXED,
        fixed_version=fixed,
        record=f"secdb v{release}/main",
    )


@pytest.fixture(scope="module")
def bookworm() -> Inventory:
    root = ASSETS / "bookworm-mixed"
    return read_inventory(HostDirView(root, str(root)))


@pytest.fixture(scope="module")
def alpine() -> Inventory:
    root = ASSETS / "alpine-suffixes"
    return read_inventory(HostDirView(root, str(root)))


def run(inventory: Inventory, *advisories: Advisory, **options: bool) -> MatchResult:
    # Every Debian case carries one bookworm record of an uninstalled package so that
    # bookworm counts as a release the data covers.
    anchor = tracker("CVE-2000-0001", "not-installed", fixed="1.0-1")
    anchors = [anchor] if inventory.distro and inventory.distro.id == "debian" else []
    source = MemorySource([*anchors, *advisories])
    return match_vulnerabilities(inventory, source, today=BEFORE_BOOKWORM_EOL, **options)


def only_decision(result: MatchResult) -> Decision:
    assert len(result.decisions) == 1, result.decisions
    return result.decisions[0]


def test_fixed_version_zero_not_reported(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2023-0001", "bash", fixed="0"))
    assert result.findings == ()
    assert only_decision(result).verdict is Verdict.NOT_AFFECTED


def test_fix_at_installed_version_not_reported(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2023-0002", "bash", fixed="5.2.15-2"))
    assert result.findings == ()
    assert only_decision(result).rule == "fix-installed"


def test_binnmu_judged_by_source_version(bookworm: Inventory) -> None:
    # bash 5.2.15-2+b7 is a rebuild of source 5.2.15-2: a fix in 5.2.15-2+b1 of the
    # binary would look fixed, but the source version 5.2.15-2 is what advisories name.
    result = run(bookworm, tracker("CVE-2023-0003", "bash", fixed="5.2.15-3"))
    decision = only_decision(result)
    assert decision.verdict is Verdict.FIX_AVAILABLE
    assert decision.source_version == "5.2.15-2"
    assert result.findings[0].evidence["installed_version"] == "5.2.15-2+b7"


def test_below_fix_reports_evidence(bookworm: Inventory) -> None:
    result = run(
        bookworm, tracker("CVE-2024-0727", "openssl", fixed="3.0.13-1~deb12u1", urgency="low")
    )
    finding = next(f for f in result.findings if f.evidence["source_version"].startswith("3."))
    assert finding.kind is FindingKind.VULNERABILITY
    assert finding.rule_id == "CVE-2024-0727"
    assert finding.severity is Severity.LOW
    assert finding.package == "openssl"
    assert finding.evidence["packages"] == ["libssl3", "openssl"]
    assert finding.evidence["installed_version"] == "3.0.11-1~deb12u2"
    assert finding.evidence["fixed_version"] == "3.0.13-1~deb12u1"
    assert finding.evidence["record"] == "debian-tracker CVE-2024-0727/bookworm"
    assert finding.evidence["release"] == "bookworm"
    assert finding.evidence["rule"] == "fixed-in-release"
    assert finding.evidence["verdict"] == "fix-available"


def test_binary_from_other_source_lists_binaries(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2023-4154", "samba", fixed="2:4.17.12+dfsg-0+deb12u2"))
    assert len(result.findings) == 1
    assert result.findings[0].evidence["packages"] == ["libldb2", "samba-libs"]
    assert result.findings[0].evidence["source_version"] == "2:4.17.12+dfsg-0+deb12u1"


def test_binary_named_like_unrelated_source(bookworm: Inventory) -> None:
    # Binary gnupg is built from source gnupg2; source "gnupg" is GnuPG 1.4.
    result = run(bookworm, tracker("CVE-2018-12020", "gnupg", fixed="1.4.23-1"))
    assert result.decisions == ()
    assert result.findings == ()


def test_config_files_package_not_matched(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2024-45490", "expat", fixed="2.5.0-1+deb12u1"))
    assert result.decisions == ()


def test_tilde_sorts_before_release(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2024-40898", "apache2", fixed="2.4.62-1"))
    assert only_decision(result).verdict is Verdict.FIX_AVAILABLE


def test_tilde_revision_at_or_above_fix(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2024-40725", "apache2", fixed="2.4.62-1~deb12u1"))
    assert only_decision(result).verdict is Verdict.FIXED


def test_invalid_fixed_version_skipped_with_warning(bookworm: Inventory) -> None:
    bad = tracker("CVE-2024-0001", "apache2", fixed="2.4.62 -1")
    good = tracker("CVE-2024-0002", "apache2", fixed="2.4.63-1")
    result = run(bookworm, bad, good)
    assert [f.rule_id for f in result.findings] == ["CVE-2024-0002"]
    assert len(result.warnings) == 1
    assert "debian-tracker CVE-2024-0001/bookworm" in result.warnings[0]
    assert "'2.4.62 -1'" in result.warnings[0]


def test_nodsa_ignored_is_minor_issue(bookworm: Inventory) -> None:
    record = tracker(
        "CVE-2010-4756",
        "glibc",
        status=AdvisoryStatus.OPEN,
        nodsa="Minor issue",
        nodsa_reason="ignored",
        urgency="low",
    )
    result = run(bookworm, record)
    assert only_decision(result).verdict is Verdict.MINOR_ISSUE
    assert result.findings[0].evidence["rule"] == "nodsa-ignored"


def test_nodsa_postponed(bookworm: Inventory) -> None:
    record = tracker(
        "CVE-2023-4527",
        "glibc",
        status=AdvisoryStatus.OPEN,
        nodsa="Minor issue; can be fixed in next update",
        nodsa_reason="postponed",
    )
    result = run(bookworm, record)
    assert only_decision(result).verdict is Verdict.POSTPONED
    assert result.findings[0].evidence["rule"] == "nodsa-postponed"


def test_open_without_fix(bookworm: Inventory) -> None:
    record = tracker("CVE-2024-2961", "glibc", status=AdvisoryStatus.OPEN, urgency="high")
    result = run(bookworm, record)
    assert only_decision(result).verdict is Verdict.NO_FIX
    assert result.findings[0].severity is Severity.HIGH
    assert result.findings[0].evidence["rule"] == "open-no-fix"


def test_end_of_life_record_unsupported(bookworm: Inventory) -> None:
    record = tracker("CVE-2024-1000", "glibc", status=AdvisoryStatus.END_OF_LIFE)
    result = run(bookworm, record)
    assert only_decision(result).verdict is Verdict.UNSUPPORTED
    assert result.findings[0].evidence["rule"] == "end-of-life"


def test_undetermined_shown(bookworm: Inventory) -> None:
    record = tracker("CVE-2024-1001", "glibc", status=AdvisoryStatus.UNDETERMINED)
    result = run(bookworm, record)
    assert [f.evidence["verdict"] for f in result.findings] == ["undetermined"]


def test_unimportant_hidden_by_default(bookworm: Inventory) -> None:
    record = tracker("CVE-2005-2541", "tar", status=AdvisoryStatus.OPEN, urgency="unimportant")
    result = run(bookworm, record)
    assert result.findings == ()
    assert only_decision(result).hidden


def test_unimportant_shown_with_flag(bookworm: Inventory) -> None:
    record = tracker("CVE-2005-2541", "tar", status=AdvisoryStatus.OPEN, urgency="unimportant")
    result = run(bookworm, record, include_unimportant=True)
    assert [f.rule_id for f in result.findings] == ["CVE-2005-2541"]
    assert result.findings[0].severity is Severity.NEGLIGIBLE


def test_package_from_other_release_judged_there(bookworm: Inventory) -> None:
    # libssl1.1 1.1.1n-0+deb11u5 was left by an upgrade from bullseye; bookworm's
    # openssl is 3.x, so only bullseye's record tells whether it is fixed.
    records = [
        tracker("CVE-2023-0286", "openssl", fixed="3.0.8-1"),
        tracker("CVE-2023-0286", "openssl", release="bullseye", fixed="1.1.1n-0+deb11u4"),
        tracker("CVE-2023-5678", "openssl", fixed="3.0.13-1~deb12u1"),
        tracker("CVE-2023-5678", "openssl", release="bullseye", fixed="1.1.1w-0+deb11u1"),
    ]
    result = run(bookworm, *records)
    old = {d.vulnerability_id: d for d in result.decisions if d.source_version.startswith("1.1")}
    assert old["CVE-2023-0286"].verdict is Verdict.FIXED
    assert old["CVE-2023-0286"].release == "bullseye"
    assert old["CVE-2023-5678"].verdict is Verdict.FIX_AVAILABLE
    assert old["CVE-2023-5678"].rule == "other-release:bullseye"
    assert old["CVE-2023-5678"].fixed_version == "1.1.1w-0+deb11u1"


def test_other_release_without_record_uses_image_release(bookworm: Inventory) -> None:
    result = run(bookworm, tracker("CVE-2023-0215", "openssl", fixed="3.0.8-1"))
    old = [d for d in result.decisions if d.source_version.startswith("1.1")]
    assert [d.rule for d in old] == ["fixed-in-release"]
    assert old[0].release == "bookworm"


def test_fixed_in_sid(bookworm: Inventory) -> None:
    records = [
        tracker("CVE-2023-45853", "zlib", status=AdvisoryStatus.OPEN, urgency="medium"),
        tracker("CVE-2023-45853", "zlib", release="sid", fixed="1:1.3.dfsg-1"),
    ]
    result = run(bookworm, *records)
    decision = only_decision(result)
    assert result.findings == ()
    assert decision.verdict is Verdict.FIXED
    assert decision.rule == "fixed-in-sid"
    assert decision.release == "sid"


def test_sid_fix_above_installed_keeps_finding(bookworm: Inventory) -> None:
    records = [
        tracker("CVE-2023-45853", "zlib", status=AdvisoryStatus.OPEN),
        tracker("CVE-2023-45853", "zlib", release="sid", fixed="1:1.3.dfsg+really1.3.1-1"),
    ]
    result = run(bookworm, *records)
    assert [f.evidence["rule"] for f in result.findings] == ["open-no-fix"]


def test_uncovered_release_single_note(bookworm: Inventory) -> None:
    records = [
        tracker(f"CVE-2022-{n:04d}", "bash", release="bullseye", fixed="5.2.15-3") for n in range(5)
    ]
    result = match_vulnerabilities(bookworm, MemorySource(records), today=BEFORE_BOOKWORM_EOL)
    assert result.findings == ()
    assert len(result.notes) == 1
    assert "Debian bookworm" in result.notes[0]
    assert "hardbase db update" in result.notes[0]
    assert "move to a supported release" not in result.notes[0]


def test_uncovered_release_past_support_says_move(bookworm: Inventory) -> None:
    records = [tracker("CVE-2022-0001", "bash", release="bullseye", fixed="5.2.15-3")]
    result = match_vulnerabilities(bookworm, MemorySource(records), today=date(2028, 7, 1))
    assert result.findings == ()
    assert "2028-06-30" in result.notes[0]
    assert "move to a supported release" in result.notes[0]


def test_release_past_support_noted_once(bookworm: Inventory) -> None:
    record = tracker("CVE-2023-0003", "bash", fixed="5.2.15-3")
    result = match_vulnerabilities(bookworm, MemorySource([record]), today=date(2028, 7, 1))
    assert len(result.findings) == 1
    assert len(result.notes) == 1
    assert "2028-06-30" in result.notes[0]


def test_end_of_life_records_folded_into_note(bookworm: Inventory) -> None:
    records = [
        tracker(f"CVE-2029-{n:04d}", "glibc", status=AdvisoryStatus.END_OF_LIFE) for n in range(3)
    ]
    result = match_vulnerabilities(bookworm, MemorySource(records), today=date(2028, 7, 1))
    assert result.findings == ()
    assert len(result.notes) == 1


def test_dsa_below_fixed_version(bookworm: Inventory) -> None:
    record = Advisory(
        source="debian-dsa",
        vulnerability_id="CVE-2024-2961",
        distro="debian",
        release="bookworm",
        package="glibc",
        status=AdvisoryStatus.FIXED,
        fixed_version="2.36-9+deb12u7",
        record="DSA-5678-1",
    )
    result = run(bookworm, record)
    assert result.findings[0].evidence["record"] == "DSA-5678-1"
    assert result.findings[0].evidence["rule"] == "fixed-in-advisory"
    assert result.findings[0].severity is Severity.UNKNOWN


def test_tracker_record_overrides_dsa(bookworm: Inventory) -> None:
    dsa = Advisory(
        source="debian-dsa",
        vulnerability_id="CVE-2024-2961",
        distro="debian",
        release="bookworm",
        package="glibc",
        status=AdvisoryStatus.FIXED,
        fixed_version="2.36-9+deb12u7",
        record="DSA-5678-1",
    )
    status = tracker("CVE-2024-2961", "glibc", fixed="2.36-9+deb12u4")
    result = run(bookworm, dsa, status)
    assert only_decision(result).verdict is Verdict.FIXED


def test_newer_alpine_release_not_applied(alpine: Inventory) -> None:
    records = [
        secdb("CVE-2019-1551", "openssl", "1.1.1d-r3", release="3.11"),
        secdb("CVE-2019-14697", "musl", "1.1.23-r2", release="3.11"),
        secdb("CVE-2016-8859", "musl", "1.1.15-r4", release="3.10"),
    ]
    result = run(alpine, *records)
    assert [(d.vulnerability_id, d.release) for d in result.decisions] == [
        ("CVE-2016-8859", "3.10")
    ]
    assert result.findings == ()


@pytest.mark.parametrize(
    ("package", "fixed", "verdict"),
    [
        ("sqlite", "3.28.0-r0", Verdict.FIX_AVAILABLE),
        ("ncurses", "6.1-r0", Verdict.FIXED),
        ("ncurses", "6.1_p20180414-r0", Verdict.FIXED),
        ("curl", "7.65.1_rc1-r0", Verdict.FIX_AVAILABLE),
        ("musl", "1.1.22-r10", Verdict.FIX_AVAILABLE),
        ("musl", "1.1.22-r3", Verdict.FIXED),
    ],
)
def test_apk_suffix_and_release_order(
    alpine: Inventory, package: str, fixed: str, verdict: Verdict
) -> None:
    # Installed: sqlite 3.28.0_rc1-r0, ncurses 6.1_p20190518-r0, curl 7.65.1_pre1-r0,
    # musl 1.1.22-r9.
    result = run(alpine, secdb("CVE-2019-0001", package, fixed))
    assert only_decision(result).verdict is verdict


def test_alpine_severity_unknown(alpine: Inventory) -> None:
    result = run(alpine, secdb("CVE-2019-16168", "sqlite", "3.28.0-r1"))
    assert result.findings[0].severity is Severity.UNKNOWN
    assert result.findings[0].evidence["record"] == "secdb v3.10/main"


def test_invalid_installed_version_warns(bookworm: Inventory) -> None:
    others = tuple(p for p in bookworm.packages if p.name != "bash")
    bash = next(p for p in bookworm.packages if p.name == "bash")
    inventory = replace(bookworm, packages=(replace(bash, source_version="5.2 15"), *others))
    result = run(inventory, tracker("CVE-2023-0003", "bash", fixed="5.2.15-3"))
    assert result.decisions == ()
    assert any("'5.2 15'" in w for w in result.warnings)


def test_unknown_distribution_note() -> None:
    result = match_vulnerabilities(Inventory(None, ()), MemorySource([]))
    assert result.findings == ()
    assert len(result.notes) == 1


@pytest.mark.parametrize(
    ("urgency", "severity"),
    [
        ("unimportant", Severity.NEGLIGIBLE),
        ("low", Severity.LOW),
        ("low**", Severity.LOW),
        ("medium", Severity.MEDIUM),
        ("high", Severity.HIGH),
        ("not yet assigned", Severity.UNKNOWN),
        (None, Severity.UNKNOWN),
        ("critical", Severity.CRITICAL),
        ("9.8", Severity.CRITICAL),
        ("nonsense", Severity.UNKNOWN),
    ],
)
def test_severity_from_urgency(urgency: str | None, severity: Severity) -> None:
    assert severity_from_urgency(urgency) is severity


def test_half_configured_package_still_matched() -> None:
    from dataclasses import replace

    from hardbase.packages import Distro, Package

    package = Package(
        name="libexpat1",
        version="2.5.0-1",
        ecosystem="deb",
        architecture="amd64",
        source_name="expat",
        source_version="2.5.0-1",
        state="half-configured",
        selection="install",
    )
    distro = Distro(id="debian", version_id="12", codename="bookworm")
    inventory = Inventory(distro, (package,))
    advisory = tracker("CVE-2024-0002", "expat", fixed="2.5.0-1+deb12u1")

    half_configured = run(inventory, advisory)
    config_files_only = run(Inventory(distro, (replace(package, state="config-files"),)), advisory)

    assert [f.rule_id for f in half_configured.findings] == ["CVE-2024-0002"]
    assert config_files_only.findings == ()
