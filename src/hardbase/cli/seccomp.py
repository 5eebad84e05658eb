"""The ``hardbase seccomp`` commands: validate, record, generate, run and diff profiles."""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hardbase.cli._common import console_err, print_warning, printable, write_output
from hardbase.errors import InputError
from hardbase.scan.findings import Finding, FindingKind, Severity

if TYPE_CHECKING:
    from hardbase.audit.locate import Document, YamlPath
    from hardbase.report.sarif import SarifRule
    from hardbase.seccomp.rules import Decision
    from hardbase.seccomp.trace import Trace
    from hardbase.seccomp.validate import ProfileFinding

seccomp_app = typer.Typer(
    name="seccomp",
    help="Check, record, try and compare seccomp profiles for Docker, Podman and Kubernetes.",
    no_args_is_help=True,
)


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


class ValidateFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


#: Largest profile whose SARIF results get line numbers. The positions come
#: from PyYAML's pure-Python composer, which is slow on many megabytes; real
#: profiles are tens of kilobytes.
MAX_SARIF_POSITION_BYTES = 1024 * 1024


# A key (``syscalls``) or an index (``[3]``) of a finding path.
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to FILE instead of standard output."),
]
CapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cap",
        help=(
            "Capability the container holds, for rules with includes/excludes.caps; "
            "repeatable. Default: Docker's default capability set."
        ),
    ),
]


def _warn(message: str) -> None:
    print_warning(message)


def _cell(value: str) -> Text:
    # Syscall names and paths come from the profile: a Text cell is not parsed
    # as console markup, and printable() shows escape sequences as \xNN.
    return Text(printable(value))


def _render(table: Table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=140, no_color=True).print(table)
    return buffer.getvalue()


@seccomp_app.command("validate")
def validate(
    profile: Annotated[Path, typer.Argument(help="Seccomp profile (JSON) to check.")],
    output_format: Annotated[
        ValidateFormat, typer.Option("--format", "-f", help="Report format.")
    ] = ValidateFormat.table,
    output: OutputOption = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help=(
                "Exit with status 1 when a finding reaches this severity "
                "(low, medium, high, critical), or 'none' to always exit 0."
            ),
        ),
    ] = "high",
) -> None:
    """Check a profile: schema, actions, syscall names, shadowed rules, weak defaults, bypasses."""
    from hardbase.seccomp.model import ProfileSchemaError, load_profile
    from hardbase.seccomp.validate import schema_findings, validate_profile

    # A validator fails on a broken profile by default, unlike scan, whose
    # findings are advice about an image that may be fine to run.
    threshold = None if fail_on.lower() == "none" else Severity.parse(fail_on)
    try:
        findings = validate_profile(load_profile(profile))
    except ProfileSchemaError as error:
        findings = schema_findings(error)

    if output_format is ValidateFormat.json:
        document = {"profile": str(profile), "findings": [f.to_dict() for f in findings]}
        write_output(json.dumps(document, indent=2), output)
    elif output_format is ValidateFormat.sarif:
        write_output(render_validate_sarif(profile, findings), output)
    else:
        table = Table(title=Text(printable(f"{profile}: {len(findings)} findings")))
        for column in ("severity", "id", "path", "finding", "fix"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            row = (str(finding.severity), finding.rule_id, finding.path, finding.title, finding.fix)
            table.add_row(*(_cell(value) for value in row))
        write_output(_render(table), output)

    if threshold is not None and any(f.severity >= threshold for f in findings):
        sys.exit(1)


def render_validate_sarif(profile: Path, findings: Sequence[ProfileFinding]) -> str:
    """Render the findings of ``seccomp validate`` as SARIF 2.1.0, one rule per finding id.

    Results point at the profile file, with the line of the value at fault
    when the profile is at most :data:`MAX_SARIF_POSITION_BYTES`.
    """
    from hardbase.report.sarif import SarifEntry, SarifLocation, build_sarif_log, dump_sarif

    positions = _profile_positions(profile)
    entries = []
    for item in findings:
        finding = Finding(
            rule_id=item.rule_id,
            kind=FindingKind.HARDENING,
            severity=item.severity,
            title=item.title,
            fix=item.fix,
            evidence={**item.evidence, "path": item.path},
        )
        position = positions.position(_json_path(item.path)) if positions else None
        location = SarifLocation(
            path=profile.as_posix(),
            start_line=position.line if position else None,
            start_column=position.column if position else None,
            logical_full_name=item.path,
            logical_kind="member",
        )
        entries.append(SarifEntry(finding, location, identity=(item.path,)))
    return dump_sarif(build_sarif_log(entries, _validate_rule))


def _profile_positions(profile: Path) -> Document | None:
    from hardbase.audit.locate import load_json, read_text

    try:
        if not profile.is_file() or profile.stat().st_size > MAX_SARIF_POSITION_BYTES:
            return None
        documents = load_json(read_text(profile), str(profile))
    except (OSError, InputError):
        return None
    return documents[0] if documents and documents[0].positions else None


def _json_path(text: str) -> YamlPath:
    """Split a finding path such as ``syscalls[3].names[0]`` into keys and indexes."""
    return tuple(int(index) if index else key for key, index in _PATH_STEP.findall(text))


def _validate_rule(finding: Finding) -> SarifRule:
    from hardbase.report.sarif import SarifRule
    from hardbase.seccomp.validate import CHECKS

    return SarifRule(
        id=finding.rule_id,
        short_description=CHECKS.get(finding.rule_id, finding.title),
        help=finding.fix,
        severity=finding.severity,
    )


def _write_generated(traces: list[Trace], output: Path | None) -> None:
    from hardbase.seccomp.generate import generate_profile

    for trace in traces:
        if trace.looks_filtered:
            _warn(
                "a trace has no brk or mmap calls, so it looks filtered with -e trace=...; "
                "the profile denies every syscall the trace left out"
            )
            break
    generated = generate_profile(traces)
    if generated.dropped:
        _warn("left out names libseccomp does not know: " + ", ".join(sorted(generated.dropped)))
    write_output(generated.profile.to_json(), output)
    console_err.print(
        f"hardbase: {len(generated.traced)} traced syscalls, "
        f"{len(generated.added)} added for the container runtime",
        markup=False,
        highlight=False,
    )


@seccomp_app.command("generate")
def generate(
    traces: Annotated[
        list[Path], typer.Argument(help="Logs written by 'strace -f -o FILE COMMAND'; merged.")
    ],
    output: OutputOption = None,
) -> None:
    """Write an allowlist profile from strace logs (denies the rest with EPERM)."""
    from hardbase.seccomp.trace import read_trace

    _write_generated([read_trace(path) for path in traces], output)


@seccomp_app.command("record")
def record(
    command: Annotated[list[str], typer.Argument(help="Command to trace, after --.")],
    output: OutputOption = None,
    trace_output: Annotated[
        Path | None, typer.Option("--trace-output", help="Also keep the strace log in FILE.")
    ] = None,
) -> None:
    """Run a command under strace and write an allowlist profile of what it did."""
    from hardbase.seccomp.trace import read_trace
    from hardbase.tools import strace

    with tempfile.TemporaryDirectory(prefix="hardbase-seccomp-") as folder:
        log = Path(folder) / "strace.log"
        status = strace.trace(command, log)
        if status != 0:
            _warn(f"{command[0]} exited with status {status}; the profile covers that run only")
        trace = read_trace(log)
        if trace_output is not None:
            write_output(log.read_text(encoding="utf-8", errors="replace"), trace_output)
    _write_generated([trace], output)


@seccomp_app.command("run")
def run(
    profile: Annotated[Path, typer.Argument(help="Seccomp profile (JSON) to apply.")],
    command: Annotated[list[str], typer.Argument(help="Command to run, after --.")],
    cap: CapOption = None,
) -> None:
    """Run a command with the profile's filter loaded, as a container would get it."""
    from hardbase.seccomp.apply import run_with_profile
    from hardbase.seccomp.model import load_profile
    from hardbase.seccomp.rules import Context

    loaded = load_profile(profile)
    status = run_with_profile(loaded, command, Context.of_this_machine(cap), str(profile))
    raise typer.Exit(status)


@seccomp_app.command("diff")
def diff(
    first: Annotated[Path, typer.Argument(help="First profile.")],
    second: Annotated[Path, typer.Argument(help="Second profile.")],
    output_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format.")
    ] = ReportFormat.table,
    output: OutputOption = None,
    cap: CapOption = None,
) -> None:
    """Show each syscall and architecture where one profile allows what the other denies."""
    from hardbase.seccomp.diff import diff_profiles, render_diff_json
    from hardbase.seccomp.model import load_profile
    from hardbase.seccomp.rules import Context

    entries = diff_profiles(load_profile(first), load_profile(second), Context.of_this_machine(cap))
    if output_format is ReportFormat.json:
        write_output(render_diff_json(entries, str(first), str(second)), output)
        return
    table = Table(title=f"{len(entries)} differences")
    for column in ("architecture", "syscall", str(first), str(second)):
        table.add_column(_cell(column), overflow="fold")
    for entry in entries:
        table.add_row(
            _cell(entry.architecture),
            _cell(entry.syscall),
            _cell(_describe(entry.first)),
            _cell(_describe(entry.second)),
        )
    write_output(_render(table), output)


def _describe(decision: Decision) -> str:
    if decision.rule is not None:
        return f"{decision.verdict}: {decision.action} ({decision.rule.path})"
    if decision.conditional:
        paths = ", ".join(r.path for r in decision.conditional)
        return f"{decision.verdict}: {paths}, else {decision.action}"
    return f"{decision.verdict}: default {decision.action}"


def register(app: typer.Typer) -> None:
    """Add the ``seccomp`` command group to the application."""
    app.add_typer(seccomp_app)
