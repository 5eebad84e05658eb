"""CycloneDX JSON of a scan: the image's SBOM plus its ``vulnerabilities``.

The components come from the plain SBOM writer, so each package's ``bom-ref``
is its purl there and here. Each vulnerability finding becomes one
vulnerability entry whose ``affects`` lists the binary packages of the finding.
Findings hidden by VEX or the ignore file carry an ``analysis`` with their
state; findings hidden by ``--severity`` or ``--only-fixed`` are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.impact_analysis import ImpactAnalysisJustification, ImpactAnalysisState
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityAdvisory,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6

from hardbase.packages.model import Inventory, Package
from hardbase.report._sbom import SbomSubject, package_refs, sbom_packages
from hardbase.report.cyclonedx import build_bom
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.triage import IGNORED, VEX_FIXED, VEX_NOT_AFFECTED, reason_category

if TYPE_CHECKING:
    from hardbase.scan.run import ScanReport

logger = logging.getLogger(__name__)

__all__ = ["build_vex_bom", "render_cyclonedx_vex"]

PROPERTY_PREFIX = "hardbase:vulnerability:"

_SEVERITIES = {
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.LOW: VulnerabilitySeverity.LOW,
    # CycloneDX has no "negligible"; "info" is its rating below low.
    Severity.NEGLIGIBLE: VulnerabilitySeverity.INFO,
    Severity.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
}

# OpenVEX justifications and the nearest CycloneDX ones.
_JUSTIFICATIONS = {
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": (
        ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL
    ),
    "inline_mitigations_already_exist": (
        ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL
    ),
}

# VEX statements that keep a finding shown, as CycloneDX analysis states.
_SHOWN_STATES = {
    "affected": ImpactAnalysisState.EXPLOITABLE,
    "under_investigation": ImpactAnalysisState.IN_TRIAGE,
}

_FEED_SOURCES = {
    "debian-tracker": ("Debian Security Tracker", "https://security-tracker.debian.org/tracker/"),
    "debian-dsa": ("Debian Security Advisories", "https://security-tracker.debian.org/tracker/"),
    "debian-dla": ("Debian LTS Advisories", "https://security-tracker.debian.org/tracker/"),
    "alpine-secdb": ("Alpine secdb", "https://secdb.alpinelinux.org/"),
    "osv": ("OSV", "https://osv.dev/"),
}


def render_cyclonedx_vex(
    report: ScanReport,
    *,
    spec_version: str = "1.6",
    serial_number: UUID | None = None,
    timestamp: datetime | None = None,
) -> str:
    """Return the CycloneDX JSON document of a scan: components and vulnerabilities.

    Raises ValueError for a ``spec_version`` other than ``1.5`` or ``1.6``.
    """
    if spec_version not in ("1.5", "1.6"):
        raise ValueError(f"unsupported CycloneDX version {spec_version!r}")
    bom = build_vex_bom(report, serial_number=serial_number, timestamp=timestamp)
    writer = JsonV1Dot5(bom) if spec_version == "1.5" else JsonV1Dot6(bom)
    return writer.output_as_string(indent=2) + "\n"


def build_vex_bom(
    report: ScanReport,
    *,
    serial_number: UUID | None = None,
    timestamp: datetime | None = None,
) -> Bom:
    """Build the CycloneDX model of a scan report; see `render_cyclonedx_vex`."""
    image = report.image
    subject = SbomSubject(
        name=image.reference,
        transport=image.transport,
        digest=image.manifest_digest or image.config_digest,
        architecture=image.architecture,
        os=image.os,
    )
    bom = build_bom(report.inventory, subject, serial_number=serial_number, timestamp=timestamp)
    refs = _package_refs(report.inventory)

    entries: list[tuple[Finding, str | None]] = [(f, None) for f in report.findings]
    entries += [
        (item.finding, item.reason)
        for item in report.suppressed
        if reason_category(item.reason) in (VEX_NOT_AFFECTED, VEX_FIXED, IGNORED)
    ]
    for number, (finding, reason) in enumerate(entries, start=1):
        if finding.kind is FindingKind.VULNERABILITY:
            bom.vulnerabilities.add(_vulnerability(number, finding, reason, refs))
    return bom


def _package_refs(inventory: Inventory) -> dict[tuple[str, str, str], str]:
    """Map (name, version, source name) of each listed package to its ``bom-ref``."""
    packages = sbom_packages(inventory)
    refs: dict[tuple[str, str, str], str] = {}
    for package, ref in zip(packages, package_refs(packages, inventory), strict=True):
        refs.setdefault(_key(package), ref)
    return refs


def _key(package: Package) -> tuple[str, str, str]:
    return package.name, package.version, package.source_name or package.name


def _vulnerability(
    number: int, finding: Finding, reason: str | None, refs: dict[tuple[str, str, str], str]
) -> Vulnerability:
    evidence = finding.evidence
    feed = str(evidence.get("feed", ""))
    source_name, source_url = _FEED_SOURCES.get(feed, (feed or "hardbase", None))
    source = VulnerabilitySource(
        name=source_name,
        url=XsUri(source_url + finding.rule_id) if source_url and feed != "alpine-secdb" else None,
    )
    rating = VulnerabilityRating(
        source=source,
        severity=_SEVERITIES[finding.severity],
        method=VulnerabilityScoreSource.OTHER,
        justification=f"distribution urgency: {evidence['urgency']}"
        if evidence.get("urgency")
        else None,
    )
    vulnerability = Vulnerability(
        bom_ref=f"vulnerability-{number}",
        id=finding.rule_id,
        source=source,
        ratings=[rating],
        description=finding.title,
        recommendation=finding.fix,
        advisories=[VulnerabilityAdvisory(url=XsUri(url)) for url in finding.references],
        affects=[BomTarget(ref=ref) for ref in _affected_refs(finding, refs)],
        properties=_properties(evidence),
    )
    analysis = _analysis(finding, reason)
    if analysis is not None:
        vulnerability.analysis = analysis
    return vulnerability


def _affected_refs(finding: Finding, refs: dict[tuple[str, str, str], str]) -> list[str]:
    evidence = finding.evidence
    source = str(evidence.get("source_package") or finding.package or "")
    versions = _installed_versions(evidence)
    found = []
    for name in evidence.get("packages") or []:
        ref = refs.get((str(name), versions.get(str(name), ""), source))
        if ref is None:
            logger.warning(
                "%s: package %s is not in the SBOM, so affects omits it", finding.rule_id, name
            )
            continue
        found.append(ref)
    return found


def _installed_versions(evidence: Mapping[str, Any]) -> dict[str, str]:
    names = [str(n) for n in evidence.get("packages") or []]
    listed = evidence.get("installed_versions")
    if isinstance(listed, list):
        pairs = (str(item).split("=", 1) for item in listed)
        return {name: version for name, version in pairs}
    version = str(evidence.get("installed_version") or "")
    return dict.fromkeys(names, version)


def _properties(evidence: Mapping[str, Any]) -> list[Property]:
    keys = (
        "verdict",
        "rule",
        "record",
        "release",
        "source_package",
        "source_version",
        "fixed_version",
    )
    return [
        Property(name=PROPERTY_PREFIX + key, value=str(evidence[key]))
        for key in keys
        if evidence.get(key) is not None
    ]


def _analysis(finding: Finding, reason: str | None) -> VulnerabilityAnalysis | None:
    if reason is None:
        statement = str(finding.evidence.get("vex", ""))
        state = _SHOWN_STATES.get(statement.split(" ", 1)[0])
        if state is None:
            return None
        return VulnerabilityAnalysis(state=state, detail=f"OpenVEX statement: {statement}")

    category = reason_category(reason)
    detail = reason.split(":", 1)[1].strip()
    if category == VEX_FIXED:
        return VulnerabilityAnalysis(state=ImpactAnalysisState.RESOLVED, detail=detail)
    if category == VEX_NOT_AFFECTED:
        justification = _JUSTIFICATIONS.get(detail.split(" ", 1)[0])
        return VulnerabilityAnalysis(
            state=ImpactAnalysisState.NOT_AFFECTED, justification=justification, detail=detail
        )
    # NOTE: an ignore entry states a reason but no VEX status. It is written as
    # not_affected because the entry requests that the finding be hidden.
    return VulnerabilityAnalysis(
        state=ImpactAnalysisState.NOT_AFFECTED, detail=f"ignored by the ignore file: {detail}"
    )
