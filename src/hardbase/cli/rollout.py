"""The ``hardbase rollout`` command: pin the references that deploy images to their new digests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hardbase.cli._common import print_warning


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("rollout")(rollout)


def rollout(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to update (default: the repository root)."),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="Repository root with hardbase.yaml and the state.")
    ] = Path(),
    pin_tags: Annotated[
        bool, typer.Option("--pin-tags", help="Also pin plain NAME:TAG references.")
    ] = False,
    commit: Annotated[
        bool, typer.Option("--commit/--no-commit", help="Commit the changes inside a git tree.")
    ] = True,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST one JSON event per image to this URL.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the edits and write nothing.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="hardbase.yaml to read instead of ROOT's.")
    ] = None,
) -> None:
    """Rewrite digest-pinned references in Dockerfiles, Kubernetes and compose files."""
    from hardbase.rebuild.graph import load_graph
    from hardbase.rebuild.references import parse_reference
    from hardbase.rebuild.rollout import (
        RolledImage,
        RolloutResult,
        apply_changes,
        commit_changes,
        plan_rollout,
        post_webhooks,
        webhook_payloads,
    )
    from hardbase.rebuild.state import read_state

    settings, image_graph = load_graph(root, config)
    state = read_state(image_graph.root / settings.state)
    images = [
        RolledImage(
            name,
            parse_reference(record.reference),
            record.digest,
            image_graph.nodes[name].flux_policy if name in image_graph.nodes else None,
        )
        for name, record in sorted(state.images.items())
    ]
    changes, warnings = plan_rollout(
        paths or [image_graph.root], images, pin_tags=pin_tags, root=image_graph.root
    )
    for warning in warnings:
        print_warning(warning)
    for change in changes:
        for edit in change.edits:
            typer.echo(f"{change.path}:{edit.line}: {edit.old} -> {edit.new}")
    if not changes:
        typer.echo("nothing to roll out")
        return
    if dry_run:
        return
    apply_changes(changes)
    commit_id = commit_changes(changes, images) if commit else None
    if commit_id:
        typer.echo(f"committed {commit_id}")
    result = RolloutResult(tuple(changes), commit_id, tuple(warnings))
    if webhook:
        post_webhooks(webhook, webhook_payloads(result, images))
