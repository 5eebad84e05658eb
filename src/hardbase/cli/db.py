"""The ``hardbase db`` commands: update, import and status of the advisory store."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from hardbase.cli._common import console_err, progress_bar, show_progress, write_output

db_app = typer.Typer(
    name="db",
    help="Manage the local advisory store that `hardbase scan` matches against.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="HARDBASE_STORE",
        help="Advisory store file (default: advisories.db in the user's cache folder).",
    ),
]


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


@db_app.command("update")
def update(
    store: StoreOption = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help=(
                "Source to update, as NAME or NAME=URL; repeatable. NAME=URL replaces a known "
                "source's URL or adds a source whose format is detected. "
                "Default: all default sources."
            ),
        ),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Further attempts after a failed download.")
    ] = 3,
    retry_delay: Annotated[
        float,
        typer.Option(
            "--retry-delay",
            min=0.0,
            help="Seconds before the first retry; doubled for each further one.",
        ),
    ] = 2.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Network time-out in seconds.")
    ] = 120.0,
) -> None:
    """Download the configured advisory sources into the store."""
    from hardbase.advisories.update import UpdateOptions, resolve_sources
    from hardbase.advisories.update import update as run_update

    specs = resolve_sources(source or [])
    options = UpdateOptions(retries=retries, backoff=retry_delay, timeout=timeout)
    with progress_bar(True) as bar:
        hook = _ProgressHook(bar) if show_progress() else None
        results = run_update(specs, store, options, hook)
    for result in results:
        state = "not modified" if result.not_modified else f"{len(result.skipped)} skipped"
        console_err.print(
            f"{result.name}: {result.records} advisories ({state})", markup=False, highlight=False
        )


class _ProgressHook:
    """Shows one progress bar per downloaded source."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, name: str, done: int, total: int | None) -> None:
        task = self._tasks.get(name)
        if task is None:
            task = self._bar.add_task(name, total=total)
            self._tasks[name] = task
        self._bar.update(task, completed=done, total=total)


@db_app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Feed files or folders: tracker JSON, DSA or DLA list, Alpine secdb, OSV zip "
            "or folder.",
        ),
    ],
    store: StoreOption = None,
) -> None:
    """Import local feed files into the store; each file's format is detected by content."""
    from hardbase.advisories.update import import_files

    for result in import_files(paths, store):
        console_err.print(
            f"{result.name}: {result.records} advisories ({len(result.skipped)} skipped)",
            markup=False,
            highlight=False,
        )


@db_app.command("status")
def status(
    store: StoreOption = None,
    output_format: Annotated[
        StatusFormat, typer.Option("--format", "-f", help="Output format.")
    ] = StatusFormat.table,
) -> None:
    """Show the store's sources, record counts and age."""
    from hardbase.advisories.store import AdvisoryStore

    with AdvisoryStore.open(store) as opened:
        sources = opened.sources()
        age = opened.age()
        total = opened.count()
        path = opened.path

    if output_format is StatusFormat.json:
        document = {
            "store": str(path),
            "advisories": total,
            "age_seconds": int(age.total_seconds()) if age is not None else None,
            "sources": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "url": s.url,
                    "records": s.records,
                    "skipped": s.skipped,
                    "fetched_at": s.fetched_at.isoformat(),
                    "age_seconds": int(s.age.total_seconds()),
                    "etag": s.etag,
                    "last_modified": s.last_modified,
                    "sha256": s.sha256,
                }
                for s in sources
            ],
        }
        write_output(json.dumps(document, indent=2), None)
        return

    table = Table(title=f"{path}: {total} advisories")
    for column in ("source", "records", "skipped", "fetched (UTC)", "age"):
        table.add_column(column)
    for s in sources:
        table.add_row(
            s.name,
            str(s.records),
            str(s.skipped),
            s.fetched_at.strftime("%Y-%m-%d %H:%M"),
            _age_text(int(s.age.total_seconds())),
        )
    from rich.console import Console

    Console(soft_wrap=True).print(table)


def _age_text(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to the application."""
    app.add_typer(db_app)
