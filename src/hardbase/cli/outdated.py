"""The ``hardbase outdated`` command: which images need a rebuild, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from hardbase.cli._common import console_err, print_warning, show_progress, write_output


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("outdated")(outdated)


def outdated(
    root: Annotated[Path, typer.Argument(help="Repository root.")] = Path(),
    output_format: Annotated[
        Literal["table", "json"], typer.Option("--format", "-f", help="table (default) or json.")
    ] = "table",
    config: Annotated[
        Path | None, typer.Option("--config", help="hardbase.yaml to read instead of ROOT's.")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Read archive indices from the cache only.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not standard output.")
    ] = None,
) -> None:
    """List the images that need a rebuild; exit 1 when any does."""
    from hardbase.rebuild.graph import load_graph
    from hardbase.rebuild.staleness import OutdatedReport, Probe, assess, outdated_json
    from hardbase.rebuild.state import read_state

    settings, image_graph = load_graph(root, config)
    state = read_state(image_graph.root / settings.state)
    probe = Probe(tls_verify=settings.tls_verify, archive=settings.archive, offline=offline)
    verbose = show_progress(output_format == "table")

    def progress(name: str, step: str) -> None:
        if verbose:
            console_err.print(f"hardbase: {name}: {step}", markup=False, highlight=False)

    found = assess(
        image_graph, state, probe, check_external=settings.check_external, progress=progress
    )
    levels = image_graph.level_of()
    order = [name for level in image_graph.levels for name in level]
    report = OutdatedReport(tuple(found[name] for name in order), levels)
    if output_format == "json":
        write_output(json.dumps(outdated_json(report), indent=2), output)
    else:
        write_output(_table(report), output)
    for assessment in report.assessments:
        for warning in assessment.warnings:
            print_warning(warning)
    if report.stale:
        raise typer.Exit(1)


def _table(report: object) -> str:
    from hardbase.rebuild.staleness import OutdatedReport

    if not isinstance(report, OutdatedReport):
        raise TypeError("expected an OutdatedReport")
    if not report.stale:
        return f"all {len(report.assessments)} images are up to date\n"
    rows = [("IMAGE", "LEVEL", "REASON")]
    for assessment in report.stale:
        for index, reason in enumerate(assessment.reasons):
            name = assessment.name if index == 0 else ""
            level = str(report.levels.get(assessment.name, "")) if index == 0 else ""
            rows.append((name, level, str(reason)))
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]
    summary = f"{len(report.stale)} of {len(report.assessments)} images need a rebuild"
    return "\n".join([*lines, "", summary]) + "\n"
