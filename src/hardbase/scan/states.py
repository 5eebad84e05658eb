"""Findings for packages that dpkg does not record as ``install ok installed``."""

from __future__ import annotations

from hardbase.packages import Inventory, Package
from hardbase.scan.findings import Finding, FindingKind, Severity

_STATE_TEXT = {
    "config-files": "removed, but its configuration files remain",
    "half-installed": "half-installed: its installation was interrupted",
    "unpacked": "unpacked but not configured",
    "half-configured": "half-configured: its configuration failed",
    "triggers-awaited": "waiting for another package's triggers",
    "triggers-pending": "has triggers pending",
}


def package_state_findings(inventory: Inventory) -> list[Finding]:
    """Return one finding per dpkg package whose status is not ``install ok installed``."""
    findings = []
    for package in inventory.packages:
        if package.ecosystem != "deb":
            continue
        if package.state == "installed" and package.selection in (None, "install"):
            continue
        findings.append(_finding(package))
    return findings


def _finding(package: Package) -> Finding:
    status = f"{package.selection or '?'} ok {package.state}"
    if package.state == "installed" and package.selection == "hold":
        rule, title = "HB-PKG-HOLD", f"{package.name} is on hold: apt will not upgrade it"
        severity, fix = (
            Severity.LOW,
            f"unhold it (apt-mark unhold {package.name}) so security updates apply",
        )
    elif package.state == "installed":
        rule, title = (
            "HB-PKG-DEINSTALL",
            f"{package.name} is marked for removal ({package.selection})",
        )
        severity, fix = (
            Severity.LOW,
            f"remove {package.name} in the image build, or mark it install",
        )
    elif package.state == "config-files":
        rule = "HB-PKG-CONFIG-FILES"
        title = f"{package.name} is {_STATE_TEXT['config-files']}; it is not counted as installed"
        severity, fix = (
            Severity.NEGLIGIBLE,
            f"purge it in the image build (dpkg --purge {package.name})",
        )
    else:
        rule = "HB-PKG-BROKEN"
        state = _STATE_TEXT.get(package.state, package.state)
        title = (
            f"{package.name} is {state}; its files are in place, so it is still matched "
            "against advisories, but it is not counted as installed"
        )
        severity, fix = (
            Severity.MEDIUM,
            f"fix or remove {package.name} in the image build (dpkg --configure -a)",
        )
    return Finding(
        rule_id=rule,
        kind=FindingKind.PACKAGE_STATE,
        severity=severity,
        title=title,
        fix=fix,
        evidence={"status": status, "version": package.version, "database": package.database},
        package=package.name,
    )
