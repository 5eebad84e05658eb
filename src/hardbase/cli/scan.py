"""The ``hardbase scan`` command."""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hardbase.cli._common import check_platform, console_err, print_warning, write_output
from hardbase.errors import InputError
from hardbase.scan.findings import Severity

if TYPE_CHECKING:
    from hardbase.scan.run import ScanReport


class ScanFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    cyclonedx = "cyclonedx"


DEFAULT_IGNORE_FILE = Path(".hardbase-ignore.yaml")

ImageArgument = Annotated[
    str,
    typer.Argument(
        help="Image reference: oci:DIR[:TAG], docker-archive:FILE, dir:PATH, tar:FILE, "
        "docker://REF, or a path whose kind is detected.",
        show_default=False,
    ),
]


def _parse_severities(text: str | None) -> frozenset[Severity] | None:
    if not text:
        return None
    return frozenset(Severity.parse(part) for part in text.split(",") if part.strip())


def scan(
    image: ImageArgument,
    output_format: Annotated[
        ScanFormat, typer.Option("--format", "-f", help="Report format.")
    ] = ScanFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE instead of standard output."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit with status 1 when a shown finding reaches this severity: unknown, "
            "negligible, low, medium, high or critical. 'unknown' (findings whose source gives "
            "no severity, such as DSA and DLA lists) is the lowest.",
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="OS/ARCH\\[/VARIANT] to pick from a multi-platform image."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use cached archive indices only; fetch nothing.")
    ] = False,
    no_pending: Annotated[
        bool,
        typer.Option(
            "--no-pending-updates", help="Skip the comparison with the signed Debian archive."
        ),
    ] = False,
    no_vulnerabilities: Annotated[
        bool,
        typer.Option("--no-vulnerabilities", help="Skip matching against the advisory store."),
    ] = False,
    mirror: Annotated[
        str | None,
        typer.Option("--mirror", help="Archive URL (default: http://deb.debian.org/debian)."),
    ] = None,
    security_mirror: Annotated[
        str | None,
        typer.Option(
            "--security-mirror",
            help="Security archive URL (default: http://deb.debian.org/debian-security).",
        ),
    ] = None,
    keyring: Annotated[
        Path | None,
        typer.Option("--keyring", help="Keyring that signs the archive (default: Debian's)."),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            envvar="HARDBASE_STORE",
            help="Advisory store to read (default: advisories.db in the user's cache folder).",
        ),
    ] = None,
    max_store_age: Annotated[
        float,
        typer.Option(
            "--max-store-age", min=0.0, help="Warn when the advisory store is older, in hours."
        ),
    ] = 24.0,
    only_fixed: Annotated[
        bool, typer.Option("--only-fixed", help="Show only vulnerabilities that have a fix.")
    ] = False,
    severity: Annotated[
        str | None,
        typer.Option("--severity", help="Show only these severities, comma-separated."),
    ] = None,
    ignore_file: Annotated[
        Path | None,
        typer.Option(
            "--ignore-file", help="Ignore file (default: .hardbase-ignore.yaml when present)."
        ),
    ] = None,
    vex: Annotated[
        list[Path] | None,
        typer.Option(
            "--vex",
            help="OpenVEX document whose not_affected and fixed statements hide findings; "
            "repeatable.",
        ),
    ] = None,
    show_suppressed: Annotated[
        bool, typer.Option("--show-suppressed", help="List hidden findings with the reason.")
    ] = False,
    include_unimportant: Annotated[
        bool,
        typer.Option("--include-unimportant", help="Show issues Debian rates unimportant."),
    ] = False,
    max_unpacked_size: Annotated[
        int,
        typer.Option("--max-unpacked-size", min=1, help="Largest unpacked image to read, in GiB."),
    ] = 32,
) -> None:
    """Scan an image: packages, hardening, pending updates and vulnerabilities."""
    from hardbase.scan.run import ScanOptions, scan_image

    threshold = Severity.parse(fail_on) if fail_on else None
    check_platform(platform)
    if ignore_file is None and DEFAULT_IGNORE_FILE.is_file():
        ignore_file = DEFAULT_IGNORE_FILE
    elif ignore_file is not None and not ignore_file.is_file():
        raise InputError(f"--ignore-file {ignore_file}: no such file", hint="check the path")
    for document in vex or []:
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
        vex_files=tuple(vex or ()),
    )
    if output_format is ScanFormat.table and console_err.is_terminal:
        with console_err.status("scanning") as status:
            report = scan_image(image, options, progress=status.update)
    else:
        report = scan_image(image, options)
    for warning in report.warnings:
        print_warning(warning)

    write_output(_render(report, output_format, output, show_suppressed), output)
    if threshold is not None and any(f.severity >= threshold for f in report.findings):
        sys.exit(1)


def _render(
    report: ScanReport, output_format: ScanFormat, output: Path | None, show_suppressed: bool
) -> str:
    if output_format is ScanFormat.table:
        from hardbase.report.table import render_table

        buffer = io.StringIO()
        # A terminal gets colours and its own width; a file or pipe gets plain text.
        terminal = output is None and sys.stdout.isatty()
        console = Console(
            file=buffer,
            force_terminal=terminal,
            no_color=not terminal,
            width=None if terminal else 120,
        )
        render_table(report, console, show_suppressed=show_suppressed)
        return buffer.getvalue()
    if output_format is ScanFormat.json:
        from hardbase.report.scan_json import render_json

        return render_json(report)
    if output_format is ScanFormat.sarif:
        from hardbase.report.sarif import render_sarif

        return render_sarif(report)
    from hardbase.report.cyclonedx_vex import render_cyclonedx_vex

    return render_cyclonedx_vex(report)


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("scan")(scan)
