"""The `hardbase sbom` command: an image's packages as a CycloneDX or SPDX document.

The image readers and SBOM writers are imported when the command runs, so
that other commands and ``--help`` do not pay for cyclonedx-python-lib and
spdx-tools.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hardbase.packages.model import Inventory
    from hardbase.report._sbom import SbomSubject


class SbomFormat(enum.StrEnum):
    """Document formats that `hardbase sbom` writes."""

    CYCLONEDX_JSON = "cyclonedx-json"
    SPDX_JSON = "spdx-json"


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("sbom")(sbom)


def sbom(
    image: Annotated[
        str,
        typer.Argument(
            help="Image to read: oci:DIR[:TAG], docker-archive:FILE, dir:PATH, tar:FILE, "
            "docker://REF, or a path whose kind is detected.",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        SbomFormat, typer.Option("--format", "-f", help="Document format.")
    ] = SbomFormat.CYCLONEDX_JSON,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (replaced atomically); standard output if unset.",
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="OS/ARCH\\[/VARIANT] to pick from a multi-platform OCI index or registry image.",
        ),
    ] = None,
    max_unpacked_size: Annotated[
        int,
        typer.Option("--max-unpacked-size", min=1, help="Largest unpacked image to read, in GiB."),
    ] = 32,
) -> None:
    """Write a software bill of materials of the packages installed in IMAGE.

    Lists every dpkg and apk package whose files are in the image; packages of
    which only configuration files remain are left out.
    """
    from hardbase.cli._common import check_platform, stderr_warnings, write_output

    check_platform(platform)
    with stderr_warnings() as warnings:
        inventory, subject = _read(image, platform, max_unpacked_size * 1024**3, warnings)
        text = _render(output_format, inventory, subject)
    write_output(text, output)


def _read(
    image: str, platform: str | None, max_unpacked_bytes: int, warnings: list[str]
) -> tuple[Inventory, SbomSubject]:
    from hardbase.cli._common import progress_bar
    from hardbase.image.reader import open_image
    from hardbase.packages import read_inventory
    from hardbase.report._sbom import subject_from_image

    with progress_bar(True) as bar:
        task = bar.add_task("reading the image", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        with open_image(
            image, platform=platform, max_unpacked_bytes=max_unpacked_bytes, progress=progress
        ) as opened:
            inventory = read_inventory(opened.fs, files=False)
            subject = subject_from_image(opened)
    warnings.extend(inventory.warnings)
    if not inventory.databases:
        warnings.append(
            f"{image}: no dpkg or apk package database found; the SBOM lists no packages"
        )
    return inventory, subject


def _render(output_format: SbomFormat, inventory: Inventory, subject: SbomSubject) -> str:
    if output_format is SbomFormat.SPDX_JSON:
        from hardbase.report.spdx import spdx_json

        return spdx_json(inventory, subject)
    from hardbase.report.cyclonedx import cyclonedx_json

    return cyclonedx_json(inventory, subject)
