"""The ``hardbase scan`` command."""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from hardbase.cli._common import console_err, write_output
from hardbase.errors import InputError
from hardbase.scan.findings import Severity


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    cyclonedx = "cyclonedx"


DEFAULT_IGNORE_FILE = Path(".hardbase-ignore.yaml")


def _parse_severities(text: str | None) -> frozenset[Severity] | None:
    if not text:
        return None
    return frozenset(Severity.parse(part) for part in text.split(",") if part.strip())


def scan(
    image: str = typer.Argument(..., help="Image reference: oci:DIR[:TAG], docker-archive:FILE, dir:PATH, tar:FILE, docker://REF or a path."),
    output_format: ScanFormat = typer.Option(ScanFormat.table, "--format", "-f", help="Report format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to FILE instead of standard output."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit with status 1 when a shown finding reaches this severity (low, medium, high, critical)."),
    platform: str | None = typer.Option(None, "--platform", help="OS/ARCH[/VARIANT] to pick from a multi-platform image."),
    offline: bool = typer.Option(False, "--offline", help="Use cached archive indices only; fetch nothing."),
    no_pending: bool = typer.Option(False, "--no-pending-updates", help="Skip the comparison with the signed Debian archive."),
    no_vulnerabilities: bool = typer.Option(False, "--no-vulnerabilities", help="Skip matching against the advisory store."),
    mirror: str | None = typer.Option(None, "--mirror", help="Debian archive URL (default http://deb.debian.org/debian)."),
    security_mirror: str | None = typer.Option(None, "--security-mirror", help="Debian security archive URL (default http://deb.debian.org/debian-security)."),
    keyring: Path | None = typer.Option(None, "--keyring", help="Keyring that signs the archive (default: Debian's archive keyring)."),
    store: Path | None = typer.Option(None, "--store", envvar="HARDBASE_STORE", help="Advisory store to read (default: in the user's cache folder)."),
    max_store_age: float = typer.Option(24.0, "--max-store-age", help="Warn when the advisory store is older than this many hours."),
    only_fixed: bool = typer.Option(False, "--only-fixed", help="Show only vulnerabilities that have a fix."),
    severity: str | None = typer.Option(None, "--severity", help="Show only these severities, comma-separated."),
    ignore_file: Path | None = typer.Option(None, "--ignore-file", help="Ignore file (default: .hardbase-ignore.yaml when present)."),
    vex: list[Path] = typer.Option([], "--vex", help="OpenVEX document whose not_affected and fixed statements hide findings; repeatable."),
    show_suppressed: bool = typer.Option(False, "--show-suppressed", help="List hidden findings with the reason."),
    include_unimportant: bool = typer.Option(False, "--include-unimportant", help="Show issues Debian rates unimportant."),
    max_unpacked_size: int = typer.Option(32, "--max-unpacked-size", help="Largest unpacked image to read, in GiB."),
) -> None:
    """Scan an image: packages, hardening, pending updates and vulnerabilities."""
    from hardbase.scan.run import ScanOptions, scan_image

    threshold = Severity.parse(fail_on) if fail_on else None
    if ignore_file is None and DEFAULT_IGNORE_FILE.is_file():
        ignore_file = DEFAULT_IGNORE_FILE
    elif ignore_file is not None and not ignore_file.is_file():
        raise InputError(f"--ignore-file {ignore_file}: no such file", hint="check the path")
    for document in vex:
        if not document.is_file():
            raise InputError(f"--vex {document}: no such file", hint="check the path")
    options = ScanOptions(
        platform=platform,
        max_unpacked_bytes=max_unpacked_size * 1024**3,
        pending_updates=not no_pending,
        offline=offline,
        mirror=mirror,
        security_mirror=security_mirror,
        keyring=keyring,
        vulnerabilities=not no_vulnerabilities,
        store=store,
        max_store_age=timedelta(hours=max_store_age),
        include_unimportant=include_unimportant,
        only_fixed=only_fixed,
        severities=_parse_severities(severity),
        ignore_file=ignore_file,
        vex_files=tuple(vex),
    )
    interactive = output_format is ScanFormat.table and console_err.is_terminal
    if interactive:
        with console_err.status("scanning") as status:
            report = scan_image(image, options, progress=lambda message: status.update(message))
    else:
        report = scan_image(image, options)
    for warning in report.warnings:
        console_err.print(f"hardbase: warning: {warning}", markup=False, highlight=False, soft_wrap=True)

    if output_format is ScanFormat.table:
        if output is None:
            from hardbase.report.table import render_table

            render_table(report, Console(), show_suppressed=show_suppressed)
        else:
            from hardbase.report.table import render_table

            buffer = io.StringIO()
            render_table(report, Console(file=buffer, width=120, no_color=True), show_suppressed=show_suppressed)
            write_output(buffer.getvalue(), output)
    elif output_format is ScanFormat.json:
        from hardbase.report.scan_json import render_json

        write_output(render_json(report), output)
    elif output_format is ScanFormat.sarif:
        from hardbase.report.sarif import render_sarif

        write_output(render_sarif(report), output)
    else:
        from hardbase.report.cyclonedx_vex import render_cyclonedx_vex

        write_output(render_cyclonedx_vex(report), output)

    if threshold is not None and any(f.severity >= threshold for f in report.findings):
        sys.exit(1)


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("scan")(scan)
