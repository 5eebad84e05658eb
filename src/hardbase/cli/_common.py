"""Helpers shared by the command modules: consoles, output files, progress bars."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hardbase.errors import InputError

#: Logs, warnings and progress go to standard error; reports go to standard output.
console_err = Console(stderr=True)


def show_progress(enabled: bool = True) -> bool:
    """Return True when progress bars belong on standard error: a terminal, not JSON mode."""
    return enabled and console_err.is_terminal and not os.environ.get("CI")


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
        disable=not show_progress(enabled),
    )


def write_output(text: str, output: Path | None) -> None:
    """Write a report to ``output`` atomically, or to standard output when None."""
    if output is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    folder = output.parent if str(output.parent) else Path()
    if not folder.is_dir():
        raise InputError(
            f"--output {output}: folder {folder} does not exist", hint="create it first"
        )
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=f".{output.name}.", delete=False
    ) as handle:
        handle.write(text)
        partial = Path(handle.name)
    try:
        partial.replace(output)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def stderr_warnings() -> Iterator[list[str]]:
    """Collect warnings to print on standard error once the work is done."""
    collected: list[str] = []
    yield collected
    for line in collected:
        console_err.print(
            f"hardbase: warning: {line}", markup=False, highlight=False, soft_wrap=True
        )
