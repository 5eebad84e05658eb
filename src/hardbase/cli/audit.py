"""The ``hardbase audit`` command: least privilege in manifests, compose files and Dockerfiles."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hardbase import __version__
from hardbase.cli._common import print_warning, printable, write_output
from hardbase.errors import InputError
from hardbase.scan.findings import Finding, Severity

if TYPE_CHECKING:
    from hardbase.audit.image_checks.rules import Rule
    from hardbase.audit.run import AuditReport
    from hardbase.report.sarif import SarifLocation, SarifRule

#: Version of the JSON layout: raised on any change that breaks a reader.
SCHEMA_VERSION = 1


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


def audit(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Kubernetes manifests, compose files, Dockerfiles, or folders to search."
        ),
    ] = None,
    docker_run: Annotated[
        list[str] | None,
        typer.Option(
            "--docker-run",
            help="A docker run command line to audit, quoted as one argument; repeatable.",
        ),
    ] = None,
    output_format: Annotated[
        AuditFormat, typer.Option("--format", "-f", help="Report format.")
    ] = AuditFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE instead of standard output."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit with status 1 when a finding reaches this severity: "
            "low, medium, high or critical.",
        ),
    ] = None,
    seccomp_root: Annotated[
        Path,
        typer.Option(
            "--seccomp-root",
            help="Folder that Kubernetes Localhost seccomp profiles are relative to.",
        ),
    ] = Path("/var/lib/kubelet/seccomp"),
) -> None:
    """Audit how containers run and are built: privileges, capabilities, seccomp, users."""
    from hardbase.audit.run import AuditOptions, audit_paths

    threshold = Severity.parse(fail_on) if fail_on else None
    if not paths and not docker_run:
        raise InputError("nothing to audit", hint="pass a file or folder, or --docker-run")
    report = audit_paths(paths or [], docker_run or [], AuditOptions(seccomp_root=seccomp_root))
    if not report.files:
        # A mistyped or empty folder must not pass a CI gate as "0 findings".
        named = ", ".join(str(path) for path in paths or [])
        raise InputError(
            f"{named}: no Kubernetes manifest, compose file or Dockerfile found",
            hint="check the path; folders are searched for *.yaml, *.yml, *.json and Dockerfiles",
        )
    for warning in report.warnings:
        print_warning(warning)

    if output_format is AuditFormat.json:
        write_output(render_json(report), output)
    elif output_format is AuditFormat.sarif:
        write_output(render_sarif(report), output)
    elif output is None:
        render_table(report, Console())
    else:
        buffer = io.StringIO()
        render_table(report, Console(file=buffer, width=140, no_color=True))
        write_output(buffer.getvalue(), output)

    if threshold is not None and any(f.severity >= threshold for f in report.findings):
        sys.exit(1)


def _where(finding: Finding) -> str:
    location = finding.evidence.get("location", {})
    text = str(location.get("file", ""))
    if location.get("line") is not None:
        text += f":{location['line']}"
    return text


def _cell(value: str) -> Text:
    # Names come from the audited files: a Text cell is not parsed as console
    # markup, and printable() shows escape sequences instead of sending them.
    return Text(printable(value))


def render_table(report: AuditReport, console: Console) -> None:
    """Print the findings, then the Pod Security Standards level of each workload."""
    findings = sorted(report.findings, key=lambda f: (-f.severity, _where(f), f.rule_id))
    table = Table(title=f"Audit findings ({len(findings)})", show_lines=False)
    # The fix column only fits a wide terminal; JSON and SARIF always carry it.
    with_fix = console.width >= 120
    columns = ["Severity", "Id", "Where", "Finding"] + (["Fix"] if with_fix else [])
    for column in columns:
        table.add_column(column, overflow="fold")
    for finding in findings:
        row = [str(finding.severity), finding.rule_id, _where(finding), finding.title]
        row += [finding.fix] if with_fix else []
        table.add_row(*(_cell(value) for value in row))
    console.print(table)
    if report.workloads:
        levels = Table(title="Pod Security Standards")
        for column in ("Workload", "Where", "Level", "Keeps it from the next level"):
            levels.add_column(column, overflow="fold")
        for verdict in report.workloads:
            blocking = "; ".join(f"{v.control}: {v.message}" for v in verdict.pss.blocking[:4]) + (
                f"; and {len(verdict.pss.blocking) - 4} more"
                if len(verdict.pss.blocking) > 4
                else ""
            )
            where = verdict.location.file + (
                f":{verdict.location.line}" if verdict.location.line else ""
            )
            levels.add_row(
                _cell(verdict.workload),
                _cell(where),
                _cell(str(verdict.pss.level)),
                _cell(blocking or "-"),
            )
        console.print(levels)


def audit_to_dict(report: AuditReport) -> dict[str, Any]:
    """Return the report as plain JSON-ready data."""
    by_severity: dict[str, int] = {}
    for finding in report.findings:
        by_severity[str(finding.severity)] = by_severity.get(str(finding.severity), 0) + 1
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "hardbase", "version": __version__},
        "files": [{"path": f.path, "kind": f.kind} for f in report.files],
        "summary": {"findings": len(report.findings), "by_severity": by_severity},
        "findings": [finding.to_dict() for finding in report.findings],
        "workloads": [verdict.to_dict() for verdict in report.workloads],
        "warnings": list(report.warnings),
    }


def render_json(report: AuditReport) -> str:
    """Render the report as JSON."""
    return json.dumps(audit_to_dict(report), indent=2, sort_keys=False) + "\n"


def render_sarif(report: AuditReport) -> str:
    """Render the report as SARIF 2.1.0, one rule per audit rule id that was found."""
    from hardbase.audit.run import rule_table
    from hardbase.report.sarif import SarifEntry, build_sarif_log, dump_sarif

    rules = rule_table()
    entries = [
        SarifEntry(finding, _sarif_location(finding), identity=_sarif_identity(finding))
        for finding in report.findings
    ]
    return dump_sarif(build_sarif_log(entries, lambda finding: _sarif_rule(finding, rules)))


def _sarif_rule(finding: Finding, rules: Mapping[str, Rule]) -> SarifRule:
    from hardbase.report.sarif import SarifRule, first_url

    rule = rules.get(finding.rule_id)
    if rule is None:
        return SarifRule(
            id=finding.rule_id,
            short_description=finding.title,
            help=finding.fix,
            severity=finding.severity,
            help_uri=first_url(finding.references),
        )
    return SarifRule(
        id=rule.id,
        name=rule.name,
        short_description=rule.name,
        help=rule.fix,
        severity=rule.severity,
        help_uri=first_url(rule.references),
    )


def _sarif_location(finding: Finding) -> SarifLocation:
    from hardbase.report.sarif import SarifLocation

    location = finding.evidence.get("location", {})
    file = str(location.get("file", ""))
    # A command line ("<docker run>") has no file to point at.
    has_file = bool(file) and not file.startswith("<")
    line = location.get("line") if has_file else None
    return SarifLocation(
        path=Path(file).as_posix() if has_file else None,
        start_line=line,
        start_column=(location.get("column") or 1) if line is not None else None,
        logical_full_name=str(location.get("path", "")),
        logical_kind="member",
    )


def _sarif_identity(finding: Finding) -> tuple[str, ...]:
    # Two containers of one file can break the same rule; lines stay out so
    # that an alert survives an edit above it.
    location = finding.evidence.get("location", {})
    return (
        str(location.get("path", "")),
        str(finding.evidence.get("workload", "")),
        str(location.get("container") or ""),
    )


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("audit")(audit)
