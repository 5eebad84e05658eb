"""The ``hardbase graph`` command: the images of a repository and what each is built on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from hardbase.cli._common import write_output


def register(app: typer.Typer) -> None:
    """Add the command to the application."""
    app.command("graph")(graph)


def graph(
    root: Annotated[
        Path, typer.Argument(help="Repository root with hardbase.yaml, specs and Dockerfiles.")
    ] = Path(),
    output_format: Annotated[
        Literal["tree", "json", "dot"],
        typer.Option("--format", "-f", help="tree (default), json, or Graphviz dot."),
    ] = "tree",
    config: Annotated[
        Path | None, typer.Option("--config", help="hardbase.yaml to read instead of ROOT's.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not standard output.")
    ] = None,
) -> None:
    """Show which image is built on which: specs, Dockerfiles and their bases."""
    from hardbase.rebuild.graph import graph_dot, graph_json, graph_tree, load_graph

    _, image_graph = load_graph(root, config)
    if output_format == "json":
        text = json.dumps(graph_json(image_graph), indent=2)
    elif output_format == "dot":
        text = graph_dot(image_graph)
    else:
        text = graph_tree(image_graph) or "no images found\n"
    write_output(text, output)
