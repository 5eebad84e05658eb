"""SARIF 2.1.0 output in the shape GitHub code scanning reads.

:func:`build_sarif_log` turns a list of findings into one run of the tool
``hardbase``: one rule per finding id, one result per finding, with the
``security-severity`` property, levels, ``partialFingerprints`` and
suppressions that code scanning services read. The caller supplies the rule
text and the location of each finding, so scans, audits and seccomp checks
share one writer.

:func:`sarif_log` is the scan report's log. Vulnerabilities point at the
package database that lists the package, hardening findings at the file they
name, and the image reference is the logical location of every result.
Findings that VEX or the ignore file hid are written with a SARIF suppression,
so that their reason stays visible. Findings hidden by ``--severity`` or
``--only-fixed`` are left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hardbase import __version__
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.triage import IGNORED, VEX_FIXED, VEX_NOT_AFFECTED, reason_category

if TYPE_CHECKING:
    from hardbase.scan.run import ScanReport

__all__ = [
    "SARIF_SCHEMA",
    "SarifEntry",
    "SarifLocation",
    "SarifRule",
    "build_sarif_log",
    "dump_sarif",
    "first_url",
    "render_sarif",
    "sarif_log",
]

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

_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class SarifRule:
    """The text and default severity of one rule in the tool's rule list."""

    id: str
    short_description: str
    help: str
    """The fix, in one line."""
    severity: Severity
    """Default severity; the log raises it to the highest severity among the rule's results."""
    name: str | None = None
    help_uri: str | None = None
    """Absolute http(s) URL of the rule's documentation."""
    tags: tuple[str, ...] = ("security",)


@dataclass(frozen=True)
class SarifLocation:
    """The place of a result: a file and region, a logical name, or both."""

    path: str | None
    """File path, written as a percent-encoded URI reference; None for a finding with no file."""
    start_line: int | None = None
    start_column: int | None = None
    logical_name: str | None = None
    logical_full_name: str | None = None
    """Fully qualified logical name, such as ``spec.containers[0].securityContext``."""
    logical_kind: str | None = None


@dataclass(frozen=True)
class SarifEntry:
    """One finding to write as a result."""

    finding: Finding
    location: SarifLocation
    suppression: str | None = None
    """Justification of a finding that the user chose to hide; None for a shown finding."""
    identity: tuple[str, ...] = ()
    """Extra values that tell apart two results of one rule in one file, for the fingerprint."""


def render_sarif(report: ScanReport) -> str:
    """Return the SARIF log of a scan report as indented JSON text."""
    return dump_sarif(sarif_log(report))


def dump_sarif(log: Mapping[str, Any]) -> str:
    """Return a SARIF log as indented JSON text with a final newline."""
    return json.dumps(log, indent=2, sort_keys=False) + "\n"


def first_url(references: Iterable[str]) -> str | None:
    """Return the first http(s) URL in ``references``, which may be bare or follow a title."""
    for reference in references:
        found = _URL.search(reference)
        if found:
            return found.group()
    return None


def build_sarif_log(
    entries: Sequence[SarifEntry],
    rule_for: Callable[[Finding], SarifRule],
    *,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a SARIF log of one ``hardbase`` run with a result per entry.

    ``rule_for`` is called once per rule id, with the first finding of that id.
    Each rule's level and ``security-severity`` are those of the highest
    severity among its results, because code scanning ranks alerts by the rule.
    ``properties`` become the run's property bag when given.
    """
    rules: dict[str, SarifRule] = {}
    highest: dict[str, Severity] = {}
    for entry in entries:
        finding = entry.finding
        if finding.rule_id not in rules:
            rules[finding.rule_id] = rule_for(finding)
            highest[finding.rule_id] = rules[finding.rule_id].severity
        highest[finding.rule_id] = max(highest[finding.rule_id], finding.severity)

    index = {rule_id: position for position, rule_id in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "hardbase",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule, highest[rule.id]) for rule in rules.values()],
            }
        },
        "results": [_result(entry, index[entry.finding.rule_id]) for entry in entries],
    }
    if properties is not None:
        run["properties"] = dict(properties)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _rule(rule: SarifRule, severity: Severity) -> dict[str, Any]:
    written: dict[str, Any] = {"id": rule.id}
    if rule.name is not None:
        written["name"] = rule.name
    written["shortDescription"] = {"text": rule.short_description}
    written["help"] = {"text": rule.help}
    written["defaultConfiguration"] = {"level": _LEVELS[severity]}
    written["properties"] = {
        "security-severity": _SECURITY_SEVERITY[severity],
        "tags": list(rule.tags),
    }
    if rule.help_uri is not None:
        written["helpUri"] = rule.help_uri
    return written


def _result(entry: SarifEntry, rule_index: int) -> dict[str, Any]:
    finding = entry.finding
    uri = _uri(entry.location.path) if entry.location.path is not None else None
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": f"{finding.title}. Fix: {finding.fix}"},
        "locations": [_location(entry.location, uri)],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(entry, uri)},
        "properties": {
            "kind": str(finding.kind),
            "severity": str(finding.severity),
            "security-severity": _SECURITY_SEVERITY[finding.severity],
            "package": finding.package,
            "evidence": dict(finding.evidence),
        },
    }
    if entry.suppression is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": entry.suppression}
        ]
    return result


def _uri(path: str) -> str:
    return quote(path, safe="/._-~@+")


def _location(location: SarifLocation, uri: str | None) -> dict[str, Any]:
    written: dict[str, Any] = {}
    if uri is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if location.start_line is not None:
            region = {"startLine": location.start_line}
            if location.start_column is not None:
                region["startColumn"] = location.start_column
            physical["region"] = region
        written["physicalLocation"] = physical
    logical: dict[str, str] = {}
    if location.logical_name is not None:
        logical["name"] = location.logical_name
    if location.logical_full_name is not None:
        logical["fullyQualifiedName"] = location.logical_full_name
    if logical:
        if location.logical_kind is not None:
            logical["kind"] = location.logical_kind
        written["logicalLocations"] = [logical]
    return written


def _fingerprint(entry: SarifEntry, uri: str | None) -> str:
    # Versions stay out, so that an alert survives an upgrade that does not fix it.
    # The binary package names tell apart two versions of one source package, such
    # as openssl 3 and a libssl1.1 left from an older release.
    finding = entry.finding
    binaries = ",".join(sorted(str(n) for n in finding.evidence.get("packages") or []))
    parts = (finding.rule_id, str(finding.kind), finding.package or "", binaries, uri or "")
    return hashlib.sha256("\0".join((*parts, *entry.identity)).encode()).hexdigest()


def sarif_log(report: ScanReport) -> dict[str, Any]:
    """Build the SARIF log of a scan report: findings, stated suppressions and notes."""
    reference = report.image.reference
    entries = [
        SarifEntry(finding, _scan_location(finding, reference)) for finding in report.findings
    ]
    entries += [
        SarifEntry(item.finding, _scan_location(item.finding, reference), item.reason)
        for item in report.suppressed
        if reason_category(item.reason) in _STATED_REASONS
    ]
    return build_sarif_log(entries, _scan_rule, properties=_run_properties(report))


def _scan_rule(finding: Finding) -> SarifRule:
    if finding.kind is FindingKind.VULNERABILITY:
        short = f"{finding.rule_id} in distribution packages"
        tags: tuple[str, ...] = ("security", "vulnerability")
    else:
        short = finding.title
        tags = ("security", str(finding.kind))
    return SarifRule(
        id=finding.rule_id,
        short_description=short,
        help=finding.fix,
        severity=finding.severity,
        help_uri=first_url(finding.references),
        tags=tags,
    )


def _scan_location(finding: Finding, reference: str) -> SarifLocation:
    """Place a finding at the database or file it names, else at the image reference."""
    evidence = finding.evidence
    path = evidence.get("database") or evidence.get("path") or evidence.get("file")
    return SarifLocation(
        path=str(path).lstrip("/") if path else reference,
        start_line=1,
        logical_name=reference,
        logical_kind="module",
    )


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
