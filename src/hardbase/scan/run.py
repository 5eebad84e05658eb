"""The scan pipeline: open an image, read its packages, run every check, apply triage.

Each stage is a plain function call on plain data; this module only wires
them together and collects warnings, so the command line stays thin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from hardbase.image.layers import DEFAULT_MAX_UNPACKED_BYTES
from hardbase.image.model import Image
from hardbase.image.reader import open_image
from hardbase.packages import Inventory, read_inventory
from hardbase.scan.findings import Finding, Severity
from hardbase.scan.states import package_state_findings

logger = logging.getLogger(__name__)

#: A store older than this makes the scan warn that its vulnerability data may be stale.
DEFAULT_MAX_STORE_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class ScanOptions:
    """Checks a scan runs and the sources of their data."""

    platform: str | None = None
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    hardening: bool = True
    pending_updates: bool = True
    """Compare installed packages with the signed Debian archive (Debian-family images)."""
    offline: bool = False
    """Use cached archive indices only."""
    mirror: str | None = None
    security_mirror: str | None = None
    keyring: Path | None = None
    vulnerabilities: bool = True
    """Match packages against the advisory store, when one exists."""
    store: Path | None = None
    max_store_age: timedelta = DEFAULT_MAX_STORE_AGE
    include_unimportant: bool = False
    only_fixed: bool = False
    severities: frozenset[Severity] | None = None
    ignore_file: Path | None = None
    vex_files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ImageSummary:
    """Facts about the scanned image for the report header."""

    reference: str
    transport: str
    manifest_digest: str | None
    config_digest: str | None
    unpacked_size: int
    compressed_size: int
    layers: int
    files: int
    user: str | None
    """Configured ``User``; None when unset or when the image has no config."""
    has_config: bool
    os: str | None
    architecture: str | None
    created: str | None


@dataclass(frozen=True)
class Suppressed:
    """A finding that triage hid, with the reason."""

    finding: Finding
    reason: str


@dataclass
class ScanReport:
    """Everything a scan found, ready for any output format."""

    image: ImageSummary
    inventory: Inventory
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Image-level statements such as an end-of-life release."""
    checks: dict[str, str] = field(default_factory=dict)
    """Each check and what became of it: ``done``, ``skipped: …`` or ``failed: …``."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Check-specific data for the report (archive suites, hardening sizes)."""

    def max_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)


def summarize(image: Image) -> ImageSummary:
    entries = list(image.fs.walk())
    config = image.config
    return ImageSummary(
        reference=image.reference,
        transport=image.transport,
        manifest_digest=image.manifest_digest,
        config_digest=image.config_digest,
        unpacked_size=sum(e.size for e in entries if e.is_file),
        compressed_size=image.compressed_size,
        layers=len(image.layers),
        files=len(entries),
        user=(config.user or None) if config else None,
        has_config=config is not None,
        os=config.os if config else None,
        architecture=config.architecture if config else None,
        created=config.created if config else None,
    )


ProgressHook = Callable[[str], None]


def scan_image(
    reference: str, options: ScanOptions, progress: ProgressHook | None = None
) -> ScanReport:
    """Open ``reference`` and run every enabled check on it."""
    step = progress or (lambda _message: None)
    step("reading image")
    with open_image(
        reference, platform=options.platform, max_unpacked_bytes=options.max_unpacked_bytes
    ) as image:
        inventory = read_inventory(image.fs)
        report = ScanReport(image=summarize(image), inventory=inventory)
        report.warnings.extend(inventory.warnings)
        if inventory.distro is None:
            report.warnings.append(f"{reference}: no os-release found; the distribution is unknown")
        if not inventory.packages:
            report.warnings.append(f"{reference}: no package database found (dpkg or apk)")
        report.findings.extend(package_state_findings(inventory))
        if options.hardening:
            step("checking hardening")
            _run_hardening(image, inventory, report)
    if options.pending_updates:
        step("checking the archive for pending updates")
        _run_pending(inventory, options, report)
    if options.vulnerabilities:
        step("matching advisories")
        _run_vulnerabilities(inventory, options, report)
    _run_triage(options, report)
    _sort(report)
    return report


def _run_hardening(image: Image, inventory: Inventory, report: ScanReport) -> None:
    from hardbase.audit.image import check_image

    report.findings.extend(check_image(image, inventory))
    report.checks["hardening"] = "done"


def _run_pending(inventory: Inventory, options: ScanOptions, report: ScanReport) -> None:
    distro = inventory.distro
    if distro is None or distro.family != "debian":
        report.checks["pending-updates"] = (
            "skipped: only Debian-family images have a signed archive to compare"
        )
        return
    from hardbase.scan.pending import check_pending_updates

    kwargs: dict[str, Any] = {"offline": options.offline}
    if options.mirror:
        kwargs["mirror"] = options.mirror
    if options.security_mirror:
        kwargs["security_mirror"] = options.security_mirror
    if options.keyring:
        kwargs["keyring"] = options.keyring
    result = check_pending_updates(inventory, **kwargs)
    report.findings.extend(result.findings)
    report.warnings.extend(result.warnings)
    report.extra["archive"] = [_plain(s) for s in result.suites]
    verified = [s.suite for s in result.suites if s.verified]
    if not verified:
        report.checks["pending-updates"] = (
            "failed: no suite of the archive could be fetched and verified (see the warnings); "
            "give --mirror for a release the mirror no longer carries, or --no-pending-updates"
        )
    elif len(verified) < len(result.suites):
        report.checks["pending-updates"] = "partly done: verified " + ", ".join(verified)
    else:
        report.checks["pending-updates"] = "done"


def _run_vulnerabilities(inventory: Inventory, options: ScanOptions, report: ScanReport) -> None:
    from hardbase.advisories.store import AdvisoryStore, default_store_path
    from hardbase.scan.match import match_vulnerabilities

    path = options.store or default_store_path()
    if not path.exists():
        report.checks["vulnerabilities"] = (
            f"skipped: no advisory store at {path}; "
            "run `hardbase db update` or `hardbase db import`"
        )
        report.warnings.append(report.checks["vulnerabilities"].removeprefix("skipped: "))
        return
    with AdvisoryStore.open(path) as store:
        age = store.age()
        if age is not None and age > options.max_store_age:
            hours = int(age.total_seconds() // 3600)
            report.warnings.append(
                f"the advisory store {path} is {hours} hours old; run `hardbase db update`"
            )
        result = match_vulnerabilities(
            inventory, store, include_unimportant=options.include_unimportant
        )
    report.notes.extend(result.notes)
    report.warnings.extend(result.warnings)
    report.findings.extend(result.findings)
    report.checks["vulnerabilities"] = "done"


def _run_triage(options: ScanOptions, report: ScanReport) -> None:
    from hardbase.scan.triage import TriageOptions, apply_triage

    triage = apply_triage(
        report.findings,
        TriageOptions(
            only_fixed=options.only_fixed,
            severities=options.severities,
            ignore_file=options.ignore_file,
            vex_files=options.vex_files,
            image_ids=tuple(
                value
                for value in (
                    report.image.reference,
                    report.image.manifest_digest,
                    report.image.config_digest,
                )
                if value
            ),
        ),
    )
    report.findings = list(triage.shown)
    report.suppressed.extend(Suppressed(f, reason) for f, reason in triage.suppressed)
    report.warnings.extend(triage.warnings)


def _plain(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _sort(report: ScanReport) -> None:
    report.findings.sort(
        key=lambda f: (str(f.kind), -int(f.severity), f.rule_id, f.package or "", f.title)
    )
