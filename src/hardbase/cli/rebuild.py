"""The ``hardbase rebuild`` command: rebuild stale images parent first, push, record digests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from hardbase.cli._common import console_err, show_progress, write_output


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("rebuild")(rebuild)


def rebuild(
    root: Annotated[Path, typer.Argument(help="Repository root.")] = Path(),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan as JSON and build nothing.")
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, max=64, help="Images built at the same time.")
    ] = 2,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Finish the last run, skipping the images it built."),
    ] = False,
    rebuild_all: Annotated[
        bool, typer.Option("--all", help="Rebuild every image, stale or not.")
    ] = False,
    export: Annotated[
        Literal["bake", "github-matrix", "argo"] | None,
        typer.Option("--export", help="Write the plan as bake, github-matrix or argo JSON."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File for --export or --dry-run output.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="hardbase.yaml to read instead of ROOT's.")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Read archive indices from the cache only.")
    ] = False,
) -> None:
    """Rebuild the images that need it, parents first; exit 1 when any image failed."""
    from hardbase.rebuild.execute import ExecuteOptions, execute, resume_plan
    from hardbase.rebuild.exports import export_plan
    from hardbase.rebuild.graph import load_graph
    from hardbase.rebuild.plan import make_plan, plan_json
    from hardbase.rebuild.staleness import Probe, assess
    from hardbase.rebuild.state import StateStore

    settings, image_graph = load_graph(root, config)
    store = StateStore(image_graph.root / settings.state)
    probe = Probe(tls_verify=settings.tls_verify, archive=settings.archive, offline=offline)
    verbose = show_progress(True)

    def note(name: str, status: str) -> None:
        if verbose:
            console_err.print(f"hardbase: {name}: {status}", markup=False, highlight=False)

    if resume:
        plan = resume_plan(image_graph, store)
    elif rebuild_all:
        plan = make_plan(image_graph, list(image_graph.nodes))
    else:
        found = assess(
            image_graph, store.state, probe, check_external=settings.check_external, progress=note
        )
        plan = make_plan(image_graph, [n for n, a in found.items() if a.stale], found)

    if export is not None:
        write_output(json.dumps(export_plan(plan, image_graph, export), indent=2), output)
        return
    if dry_run:
        write_output(json.dumps(plan_json(plan, image_graph), indent=2), output)
        return
    if not plan.steps:
        typer.echo("nothing to rebuild")
        return

    storage = Path(settings.storage) if settings.storage else None
    if storage is not None and not storage.is_absolute():
        storage = image_graph.root / storage
    if storage is not None:
        storage.mkdir(parents=True, exist_ok=True)
    options = ExecuteOptions(
        jobs=jobs,
        tls_verify=settings.tls_verify,
        builder=settings.builder,
        storage=storage,
        log=image_graph.root / settings.log,
    )
    result = execute(image_graph, plan, store, probe, options, resume=resume, progress=note)
    for outcome in result.outcomes:
        detail = outcome.digest or outcome.error or ""
        typer.echo(f"{outcome.status:8} {outcome.name} {detail}".rstrip())
    if not result.ok:
        console_err.print(
            "hardbase: some images did not build; fix them and run hardbase rebuild --resume",
            markup=False,
        )
        raise typer.Exit(1)
