"""The scan report for people: a header, then one section per kind of finding."""

from __future__ import annotations

import re

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from hardbase.report.scan_json import _safe
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.scan.run import ScanReport

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.NEGLIGIBLE: "dim",
    Severity.UNKNOWN: "magenta",
}

#: C0 and C1 control characters. Printed raw, an image's file or package name could
#: move the cursor, clear the screen or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_SECTION_TITLES = {
    FindingKind.VULNERABILITY: "Vulnerabilities",
    FindingKind.PENDING_UPDATE: "Pending updates from the signed archive",
    FindingKind.HARDENING: "Hardening",
    FindingKind.PACKAGE_STATE: "Package states",
}


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _clean(text: str) -> str:
    """Return ``text`` safe to print: undecodable bytes and control characters escaped."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", _safe(text))


def _header(report: ScanReport) -> Table:
    image = report.image
    distro = report.inventory.distro
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    # Text cells, unlike plain strings, are not parsed as console markup.
    grid.add_row("Image", Text(_clean(image.reference)))
    if image.manifest_digest:
        grid.add_row("Digest", image.manifest_digest)
    grid.add_row("OS", Text(_clean(distro.pretty_name or distro.id if distro else "unknown")))
    size = human_size(image.unpacked_size)
    if image.compressed_size:
        # A root filesystem tarball may be stored uncompressed, so "stored", not "compressed".
        stored = human_size(image.compressed_size)
        size += f" unpacked, {stored} stored in {image.layers} layer(s)"
    grid.add_row("Size", size)
    installed = len(report.inventory.installed)
    other = len(report.inventory.packages) - installed
    packages = f"{installed} installed"
    if other:
        packages += f", {other} in another state"
    grid.add_row("Packages", packages)
    user = image.user or ("not set (root)" if image.has_config else "no config")
    grid.add_row("User", Text(_clean(user)))
    return grid


def _scalar_evidence(finding: Finding, limit: int = 4) -> str:
    """Return the finding's simple evidence values (text, numbers, lists of text) on one line."""
    parts = []
    for key, value in finding.evidence.items():
        if value is None or isinstance(value, dict):
            continue
        if isinstance(value, list | tuple):
            if not value or not all(isinstance(v, str | int) for v in value):
                continue
            shown = ", ".join(str(v) for v in value[:5])
            if len(value) > 5:
                shown += f" (+{len(value) - 5} more)"
            value = shown
        parts.append(f"{key}: {value}")
        if len(parts) == limit:
            break
    return _clean("; ".join(parts))


def _severity(finding: Finding) -> Text:
    return Text(str(finding.severity), style=_SEVERITY_STYLE[finding.severity])


def _text(value: object) -> str:
    return _clean("" if value is None else str(value))


def _pending_section(findings: list[Finding]) -> Table:
    table = Table(
        title=f"{_SECTION_TITLES[FindingKind.PENDING_UPDATE]} ({len(findings)})",
        title_justify="left",
    )
    table.add_column("Severity", no_wrap=True)
    table.add_column("Package", min_width=12, overflow="fold")
    for column in ("Installed", "Available", "Suite"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        evidence = finding.evidence
        table.add_row(
            _severity(finding),
            Text(_text(finding.package)),
            Text(_text(evidence.get("installed_version"))),
            Text(_text(evidence.get("available_version"))),
            Text(_text(evidence.get("suite"))),
        )
    return table


def _vulnerability_section(findings: list[Finding]) -> Table:
    table = Table(
        title=f"{_SECTION_TITLES[FindingKind.VULNERABILITY]} ({len(findings)})",
        title_justify="left",
    )
    table.add_column("Severity", no_wrap=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("Packages", min_width=12, overflow="fold")
    table.add_column("Installed", overflow="fold")
    table.add_column("Fixed in", overflow="fold")
    table.add_column("Verdict (rule, record)")
    for finding in findings:
        evidence = finding.evidence
        packages = evidence.get("packages") or [finding.package]
        installed = evidence.get("installed_version") or ", ".join(
            evidence.get("installed_versions") or []
        )
        rule_and_record = f"{_text(evidence.get('rule'))}, {_text(evidence.get('record'))}"
        verdict = f"{_text(evidence.get('verdict'))}\n{rule_and_record}"
        table.add_row(
            _severity(finding),
            Text(_text(finding.rule_id)),
            Text(_text(", ".join(str(p) for p in packages))),
            Text(_text(installed)),
            Text(_text(evidence.get("fixed_version") or "-")),
            Text(verdict),
        )
    return table


def _generic_section(kind: FindingKind, findings: list[Finding]) -> Table:
    table = Table(
        title=f"{_SECTION_TITLES[kind]} ({len(findings)})", title_justify="left", expand=True
    )
    table.add_column("Severity", no_wrap=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("Finding", ratio=3)
    table.add_column("Fix", ratio=2)
    for finding in findings:
        body = Text(_clean(finding.title))
        evidence = _scalar_evidence(finding)
        if evidence:
            body.append("\n" + evidence, style="dim")
        table.add_row(
            _severity(finding), Text(_text(finding.rule_id)), body, Text(_clean(finding.fix))
        )
    return table


def _section(kind: FindingKind, findings: list[Finding]) -> Table:
    if kind is FindingKind.PENDING_UPDATE:
        return _pending_section(findings)
    if kind is FindingKind.VULNERABILITY:
        return _vulnerability_section(findings)
    return _generic_section(kind, findings)


def render_table(report: ScanReport, console: Console, *, show_suppressed: bool = False) -> None:
    """Print the report on ``console``."""
    parts: list[RenderableType] = [_header(report)]
    for kind in (
        FindingKind.VULNERABILITY,
        FindingKind.PENDING_UPDATE,
        FindingKind.HARDENING,
        FindingKind.PACKAGE_STATE,
    ):
        findings = [f for f in report.findings if f.kind is kind]
        if findings:
            parts.append(Text(""))
            parts.append(_section(kind, findings))
    if show_suppressed and report.suppressed:
        table = Table(
            title=f"Suppressed ({len(report.suppressed)})", title_justify="left", expand=True
        )
        table.add_column("ID", no_wrap=True)
        table.add_column("Package")
        table.add_column("Reason")
        for item in report.suppressed:
            table.add_row(
                Text(_text(item.finding.rule_id)),
                Text(_text(item.finding.package)),
                Text(_clean(item.reason)),
            )
        parts.extend([Text(""), table])
    for check, state in sorted(report.checks.items()):
        if state != "done":
            parts.append(Text(f"Not complete: {check}: {_clean(state)}", style="bold yellow"))
    for note in report.notes:
        parts.append(Text(f"Note: {_clean(note)}", style="bold"))
    parts.append(Text(""))
    parts.append(Text(_summary_line(report)))
    console.print(Group(*parts))


def _summary_line(report: ScanReport) -> str:
    counts = {severity: 0 for severity in Severity}
    for finding in report.findings:
        counts[finding.severity] += 1
    shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), reverse=True) if n)
    text = f"{len(report.findings)} findings" + (f" ({shown})" if shown else "")
    if counts[Severity.UNKNOWN]:
        text += (
            f"; {counts[Severity.UNKNOWN]} have no severity from their source, "
            "which --fail-on reaches only at 'unknown'"
        )
    if report.suppressed:
        reasons: dict[str, int] = {}
        for item in report.suppressed:
            key = item.reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        hidden = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        text += f"; {len(report.suppressed)} hidden ({hidden})"
    return text
