"""The ``hardbase compare`` command: base images side by side, with a verdict per row."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hardbase.cli._common import console_err, print_warning, write_output

if TYPE_CHECKING:
    # hardbase.compare imports the archive, audit and httpx stacks, which every
    # other command would pay for at start-up.
    from hardbase.compare.model import Comparison


class CompareFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"
    html = "html"


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("compare")(compare)


def compare(
    images: Annotated[
        list[str],
        typer.Argument(
            help="Two or more image references: oci:DIR[:TAG], docker-archive:FILE, dir:PATH, "
            "tar:FILE, docker://REF or a path.",
        ),
    ],
    output_format: Annotated[
        CompareFormat, typer.Option("--format", "-f", help="Report format.")
    ] = CompareFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to FILE instead of standard output."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Use cached archive indices only; fetch nothing from the archive."
        ),
    ] = False,
    label: Annotated[
        list[str],
        typer.Option("--label", help="Column name of the image at the same position; repeatable."),
    ] = [],  # noqa: B006 - typer reads the default, it is never mutated
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            envvar="HARDBASE_STORE",
            help="Advisory store to read (default: in the user's cache folder).",
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="OS/ARCH\\[/VARIANT] to pick from multi-platform images."),
    ] = None,
    no_archive: Annotated[
        bool,
        typer.Option(
            "--no-archive",
            help="Skip the pending-update and signed-index checks against the Debian archive.",
        ),
    ] = False,
    max_unpacked_size: Annotated[
        int, typer.Option("--max-unpacked-size", help="Largest unpacked image to read, in GiB.")
    ] = 32,
) -> None:
    """Compare base images: size, packages, libc, attack surface, support and provenance."""
    from hardbase.compare import ArchiveSettings, CompareOptions, compare_images

    options = CompareOptions(
        platform=platform,
        max_unpacked_bytes=max_unpacked_size * 1024**3,
        store=store,
        archive=ArchiveSettings(offline=offline),
        pending_updates=not no_archive,
        signed_index=not no_archive,
    )
    if console_err.is_terminal and output_format is CompareFormat.table:
        with console_err.status("comparing") as status:
            comparison = compare_images(
                images, options, labels=label, progress=lambda message: status.update(message)
            )
    else:
        comparison = compare_images(images, options, labels=label)

    for facts in comparison.images:
        for warning in facts.warnings:
            print_warning(f"{facts.label}: {warning}")
    write_output(_render(comparison, output_format), output)


def _render(comparison: Comparison, output_format: CompareFormat) -> str:
    if output_format is CompareFormat.markdown:
        from hardbase.compare.render_markdown import render_markdown

        return render_markdown(comparison)
    if output_format is CompareFormat.json:
        from hardbase.compare.render_json import render_json

        return render_json(comparison)
    if output_format is CompareFormat.html:
        from hardbase.compare.render_html import render_html

        return render_html(comparison)
    from hardbase.compare.render_table import render_table

    return render_table(comparison)
