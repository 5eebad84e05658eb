"""The ``hardbase build`` command: a minimal non-root Debian image from a YAML spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hardbase.cli._common import console_err, show_progress


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("build")(build)


def build(
    spec_file: Annotated[
        Path, typer.Argument(help="Build spec (YAML); docs/build.md lists every key.")
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the image: oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG].",
        ),
    ],
    push: Annotated[
        str | None,
        typer.Option("--push", help="Also push the image to docker://HOST/NAME:TAG with skopeo."),
    ] = None,
    push_tls_verify: Annotated[
        bool,
        typer.Option(
            "--push-tls-verify/--no-push-tls-verify",
            help="Verify the registry's TLS certificate; turn off only for a local registry.",
        ),
    ] = True,
    source_date_epoch: Annotated[
        int | None,
        typer.Option(
            "--source-date-epoch",
            envvar="SOURCE_DATE_EPOCH",
            help="Unix time in seconds for every timestamp (default: the newest package's date).",
        ),
    ] = None,
    package_cache: Annotated[
        Path | None,
        typer.Option(
            "--package-cache",
            help="Folder of .deb files to reuse before downloading; refilled after the build.",
        ),
    ] = None,
    no_sbom: Annotated[
        bool, typer.Option("--no-sbom", help="Do not write the CycloneDX SBOM beside the image.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the build result as JSON.")
    ] = False,
) -> None:
    """Build a minimal non-root Debian image from a spec, without a container engine."""
    from hardbase.build import BuildOptions, load_spec, parse_output
    from hardbase.build import build as run_build
    from hardbase.build.builder import check_push

    spec = load_spec(spec_file)
    options = BuildOptions(
        output=parse_output(output, spec),
        source_date_epoch=source_date_epoch,
        package_cache=package_cache,
        push=check_push(push) if push else None,
        push_tls_verify=push_tls_verify,
        sbom=not no_sbom,
    )

    def step(name: str) -> None:
        if show_progress(not json_output):
            console_err.print(f"hardbase: {name} {spec.name}", markup=False, highlight=False)

    result = run_build(spec, options, source=str(spec_file), step=step)
    if json_output:
        document = {
            "output": result.output,
            "manifest_digest": result.manifest_digest,
            "config_digest": result.config_digest,
            "source_date_epoch": result.epoch,
            "packages": list(result.packages),
            "removed_packages": list(result.removed_packages),
            "uncompressed_size": result.uncompressed_size,
            "compressed_size": result.compressed_size,
            "pushed": result.pushed,
            "sbom": str(result.sbom_path) if result.sbom_path else None,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    typer.echo(f"{result.output} {result.manifest_digest}")
    typer.echo(
        f"{len(result.packages)} packages, {result.uncompressed_size / 1e6:.1f} MB uncompressed, "
        f"{result.compressed_size / 1e6:.1f} MB compressed, built in {result.total_seconds:.0f} s"
    )
    if result.sbom_path:
        typer.echo(f"SBOM written to {result.sbom_path}")
    if result.pushed:
        typer.echo(f"pushed {result.pushed}")
