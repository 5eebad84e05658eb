"""The scan report as JSON; its schema is ``docs/schemas/scan-report.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from hardbase import __version__
from hardbase.packages import Package
from hardbase.scan.findings import FindingKind
from hardbase.scan.run import ScanReport

#: Version of the JSON layout: raised on any change that breaks a reader.
SCHEMA_VERSION = 1


def _package(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "ecosystem": package.ecosystem,
        "architecture": package.architecture,
        "source_name": package.source_name,
        "source_version": package.source_version,
        "state": package.state,
        "selection": package.selection,
        "licenses": list(package.licenses),
        "files": len(package.files),
    }


def _safe(text: str) -> str:
    # Paths from an image may hold bytes that are not UTF-8 (kept as surrogates).
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def scan_to_dict(report: ScanReport) -> dict[str, Any]:
    """Return the report as plain JSON-ready data."""
    image = report.image
    distro = report.inventory.distro
    counts: dict[str, dict[str, int]] = {}
    for finding in report.findings:
        by_kind = counts.setdefault(str(finding.kind), {})
        by_kind[str(finding.severity)] = by_kind.get(str(finding.severity), 0) + 1
    suppressed_counts: dict[str, int] = {}
    for item in report.suppressed:
        suppressed_counts[item.reason] = suppressed_counts.get(item.reason, 0) + 1
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "hardbase", "version": __version__},
        "image": {
            "reference": image.reference,
            "transport": image.transport,
            "manifest_digest": image.manifest_digest,
            "config_digest": image.config_digest,
            "unpacked_size": image.unpacked_size,
            "compressed_size": image.compressed_size,
            "layers": image.layers,
            "files": image.files,
            "user": image.user,
            "has_config": image.has_config,
            "os": image.os,
            "architecture": image.architecture,
            "created": image.created,
        },
        "distro": None
        if distro is None
        else {
            "id": distro.id,
            "version_id": distro.version_id,
            "codename": distro.codename,
            "pretty_name": distro.pretty_name,
            "family": distro.family,
            "release": distro.release,
        },
        "packages": {
            "databases": list(report.inventory.databases),
            "count": len(report.inventory.installed),
            "items": [_package(p) for p in report.inventory.packages],
        },
        "summary": {
            "findings": len(report.findings),
            "by_kind": counts,
            "suppressed": len(report.suppressed),
            "suppressed_by_reason": suppressed_counts,
        },
        "findings": [f.to_dict() for f in report.findings],
        "suppressed": [{**s.finding.to_dict(), "reason": s.reason} for s in report.suppressed],
        "checks": dict(report.checks),
        "notes": list(report.notes),
        "warnings": list(report.warnings),
        "extra": report.extra,
    }


def render_json(report: ScanReport) -> str:
    text = json.dumps(
        scan_to_dict(report), indent=2, sort_keys=False, default=str, ensure_ascii=False
    )
    return _safe(text) + "\n"


KINDS = tuple(FindingKind)
