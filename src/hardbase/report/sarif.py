"""SARIF 2.1.0 output of a scan, in the shape GitHub code scanning reads.

One run with the tool ``hardbase``, one rule per finding id, one result per
finding. Vulnerabilities point at the package database that lists the package,
hardening findings at the file they name. The image reference is the logical
location of every result. Findings that VEX or the ignore file hid are written
with a SARIF suppression, so that their reason stays visible. Findings hidden
by ``--severity`` or ``--only-fixed`` are left out.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hardbase import __version__
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.triage import IGNORED, VEX_FIXED, VEX_NOT_AFFECTED, reason_category

if TYPE_CHECKING:
    from hardbase.scan.run import ScanReport

__all__ = ["SARIF_SCHEMA", "render_sarif", "sarif_log"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "hardbase/v1"

_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.UNKNOWN: "warning",
    Severity.LOW: "note",
    Severity.NEGLIGIBLE: "note",
}

# GitHub code scanning reads "security-severity" as a CVSS-like score and shows
# critical above 9.0, high from 7.0, medium from 4.0 and low from 0.1. These
# values sit inside those bands.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.NEGLIGIBLE: "0.5",
    Severity.UNKNOWN: "0.0",
}

# Reasons that the user stated (VEX, ignore file); filter reasons are not written.
_STATED_REASONS = {VEX_NOT_AFFECTED, VEX_FIXED, IGNORED}


def render_sarif(report: ScanReport) -> str:
    """Return the SARIF log of a scan report as indented JSON text."""
    return json.dumps(sarif_log(report), indent=2, sort_keys=False) + "\n"


def sarif_log(report: ScanReport) -> dict[str, Any]:
    """Build the SARIF log of a scan report: findings, stated suppressions and notes."""
    entries: list[tuple[Finding, str | None]] = [(f, None) for f in report.findings]
    entries += [
        (item.finding, item.reason)
        for item in report.suppressed
        if reason_category(item.reason) in _STATED_REASONS
    ]

    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    for finding, _ in entries:
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(rules)
            rules.append(_rule(finding))
        else:
            _raise_rule_severity(rules[rule_index[finding.rule_id]], finding.severity)

    reference = report.image.reference
    results = [
        _result(finding, reason, rule_index[finding.rule_id], reference)
        for finding, reason in entries
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "hardbase",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "results": results,
        "properties": _run_properties(report),
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _rule(finding: Finding) -> dict[str, Any]:
    if finding.kind is FindingKind.VULNERABILITY:
        short = f"{finding.rule_id} in distribution packages"
        tags = ["security", "vulnerability"]
    else:
        short = finding.title
        tags = ["security", str(finding.kind)]
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "shortDescription": {"text": short},
        "help": {"text": finding.fix},
        "defaultConfiguration": {"level": _LEVELS[finding.severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "tags": tags,
        },
    }
    if finding.references:
        rule["helpUri"] = finding.references[0]
    return rule


def _raise_rule_severity(rule: dict[str, Any], severity: Severity) -> None:
    """Keep a rule at the highest severity of its results, as one id can rate differently."""
    current = float(rule["properties"]["security-severity"])
    if float(_SECURITY_SEVERITY[severity]) > current:
        rule["properties"]["security-severity"] = _SECURITY_SEVERITY[severity]
        rule["defaultConfiguration"]["level"] = _LEVELS[severity]


def _result(finding: Finding, reason: str | None, index: int, reference: str) -> dict[str, Any]:
    uri = _artifact_uri(finding, reference)
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": _LEVELS[finding.severity],
        "message": {"text": f"{finding.title}. Fix: {finding.fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"name": reference, "kind": "module"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(finding, uri)},
        "properties": {
            "kind": str(finding.kind),
            "severity": str(finding.severity),
            "package": finding.package,
            "evidence": dict(finding.evidence),
        },
    }
    if reason is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": reason}
        ]
    return result


def _artifact_uri(finding: Finding, reference: str) -> str:
    """Return a relative URI: the database or file the finding names, else the image reference."""
    evidence = finding.evidence
    path = evidence.get("database") or evidence.get("path") or evidence.get("file")
    text = str(path).lstrip("/") if path else reference
    return quote(text, safe="/._-~@+")


def _fingerprint(finding: Finding, uri: str) -> str:
    # Versions stay out, so that an alert survives an upgrade that does not fix it.
    # The binary package names tell apart two versions of one source package, such
    # as openssl 3 and a libssl1.1 left from an older release.
    binaries = ",".join(sorted(str(n) for n in finding.evidence.get("packages") or []))
    parts = (finding.rule_id, str(finding.kind), finding.package or "", binaries, uri)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _run_properties(report: ScanReport) -> dict[str, Any]:
    image = report.image
    properties: dict[str, Any] = {"image": image.reference}
    if image.manifest_digest or image.config_digest:
        properties["digest"] = image.manifest_digest or image.config_digest
    distro = report.inventory.distro
    if distro is not None:
        properties["distribution"] = distro.pretty_name or distro.id
    if report.notes:
        properties["notes"] = list(report.notes)
    return properties
