"""The ``hardbase audit`` command: least privilege in manifests, compose files and Dockerfiles."""

from __future__ import annotations

import io
import json
import sys
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
    from hardbase.audit.run import AuditReport

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


_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.NEGLIGIBLE: "note",
    Severity.UNKNOWN: "none",
}
#: GitHub code scanning reads this property (0.1 to 10) to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.NEGLIGIBLE: "1.0",
    Severity.UNKNOWN: "0.1",
}


def render_sarif(report: AuditReport) -> str:
    """Render the report as SARIF 2.1.0, one rule per audit rule id that was found."""
    from hardbase.audit.run import rule_table

    rules = rule_table()
    used = sorted({finding.rule_id for finding in report.findings})
    driver_rules = [
        {
            "id": rule_id,
            "name": rules[rule_id].name if rule_id in rules else rule_id,
            "shortDescription": {"text": rules[rule_id].name if rule_id in rules else rule_id},
            "help": {"text": rules[rule_id].fix if rule_id in rules else ""},
            "defaultConfiguration": {
                "level": _SARIF_LEVEL[rules[rule_id].severity] if rule_id in rules else "warning"
            },
            "properties": {
                "security-severity": _SECURITY_SEVERITY[rules[rule_id].severity]
                if rule_id in rules
                else "5.0",
                "tags": ["security"],
            },
        }
        for rule_id in used
    ]
    results = [_sarif_result(finding, used.index(finding.rule_id)) for finding in report.findings]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hardbase",
                        "version": __version__,
                        "rules": driver_rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    location = finding.evidence.get("location", {})
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": f"{finding.title}. Fix: {finding.fix}"},
        "properties": {"security-severity": _SECURITY_SEVERITY[finding.severity]},
    }
    file = str(location.get("file", ""))
    logical = [{"fullyQualifiedName": str(location.get("path", "")), "kind": "member"}]
    if file and not file.startswith("<"):
        physical: dict[str, Any] = {"artifactLocation": {"uri": Path(file).as_posix()}}
        if location.get("line") is not None:
            physical["region"] = {
                "startLine": location["line"],
                "startColumn": location.get("column") or 1,
            }
        result["locations"] = [{"physicalLocation": physical, "logicalLocations": logical}]
    else:
        result["locations"] = [{"logicalLocations": logical}]
    return result


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("audit")(audit)
