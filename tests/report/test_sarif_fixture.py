"""A real scan report of the bookworm-mixed asset, shared by the SARIF and CycloneDX tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from advisory_fixtures import bookworm_mixed_inventory, match_bookworm_mixed
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.run import ImageSummary, ScanReport, Suppressed
from hardbase.scan.triage import TriageOptions, apply_triage

ASSETS = Path(__file__).resolve().parents[1] / "assets"
IMAGE_DIGEST = "sha256:" + "1" * 64


def scan_report(*, vex: bool = True, only_fixed: bool = False) -> ScanReport:
    """Match the bookworm-mixed asset, add one hardening finding and apply triage."""
    inventory = bookworm_mixed_inventory()
    matched = match_bookworm_mixed(inventory)
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
