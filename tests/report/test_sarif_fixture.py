"""A real scan report of the bookworm-mixed asset, shared by the SARIF and CycloneDX tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.image.fs import HostDirView
from hardbase.packages import read_inventory
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.match import match_vulnerabilities
from hardbase.scan.run import ImageSummary, ScanReport, Suppressed
from hardbase.scan.triage import TriageOptions, apply_triage

ASSETS = Path(__file__).resolve().parents[1] / "assets"
IMAGE_DIGEST = "sha256:" + "1" * 64


class MemorySource:
    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self.advisories = list(advisories)

    def advisories_for(
        self, distro: str, release: str | None, package_names: Iterable[str]
    ) -> list[Advisory]:
        names = set(package_names)
        return [a for a in self.advisories if a.distro == distro and a.package in names]

    def releases(self, distro: str) -> set[str]:
        return {a.release for a in self.advisories if a.distro == distro}


def _record(cve: str, package: str, fixed: str | None, urgency: str) -> Advisory:
    return Advisory(
        source="debian-tracker",
        vulnerability_id=cve,
        distro="debian",
        release="bookworm",
        package=package,
        status=AdvisoryStatus.FIXED if fixed else AdvisoryStatus.OPEN,
        fixed_version=fixed,
        urgency=urgency,
        record=cve,
    )


def scan_report(*, vex: bool = True, only_fixed: bool = False) -> ScanReport:
    """Match the bookworm-mixed asset, add one hardening finding and apply triage."""
    root = ASSETS / "scan" / "bookworm-mixed"
    inventory = read_inventory(HostDirView(root, str(root)))
    source = MemorySource(
        [
            _record("CVE-2024-0727", "openssl", "3.0.13-1~deb12u1", "low"),
            _record("CVE-2023-4154", "samba", "2:4.17.12+dfsg-0+deb12u2", "high"),
            _record("CVE-2024-2961", "glibc", None, "high"),
            _record("CVE-2023-5678", "bash", "5.2.15-3", "medium"),
        ]
    )
    matched = match_vulnerabilities(inventory, source, today=date(2025, 1, 1))
    hardening = Finding(
        rule_id="HB-USER-001",
        kind=FindingKind.HARDENING,
        severity=Severity.MEDIUM,
        title="the image runs as root",
        fix="set USER to an unprivileged user",
        evidence={"path": "/etc/passwd"},
    )
    triage = apply_triage(
        [*matched.findings, hardening],
        TriageOptions(
            only_fixed=only_fixed,
            ignore_file=ASSETS / "scan" / "ignore" / "valid-and-expired.yaml" if vex else None,
            vex_files=(ASSETS / "scan" / "vex" / "statements.json",) if vex else (),
            image_ids=(IMAGE_DIGEST,),
            today=date(2025, 1, 1),
        ),
    )
    image = ImageSummary(
        reference="oci:bookworm-mixed:latest",
        transport="oci",
        manifest_digest=IMAGE_DIGEST,
        config_digest=None,
        unpacked_size=0,
        compressed_size=0,
        layers=1,
        files=0,
        user=None,
        has_config=True,
        os="linux",
        architecture="amd64",
        created=None,
    )
    return ScanReport(
        image=image,
        inventory=inventory,
        findings=list(triage.shown),
        suppressed=[Suppressed(f, reason) for f, reason in triage.suppressed],
        warnings=list(triage.warnings),
        notes=list(matched.notes),
    )
