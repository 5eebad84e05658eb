"""The ``hardbase`` command line: argument parsing and exit codes only.

Each command lives in its own module and calls the library layers; errors
derived from HardbaseError become one line on standard error and an exit
status, never a traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import typer

from hardbase import __version__
from hardbase.cli import (
    audit,
    build,
    compare,
    db,
    graph,
    outdated,
    rebuild,
    rollout,
    sbom,
    scan,
    seccomp,
)
from hardbase.cli._common import console_err, printable
from hardbase.errors import HardbaseError

app = typer.Typer(
    name="hardbase",
    help="Know, build and keep fresh secure container base images.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hardbase {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Log more: -v info, -vv debug."
    ),
) -> None:
    levels = ("WARNING", "INFO", "DEBUG")
    level = os.environ.get("HARDBASE_LOGLEVEL", "").upper() or levels[min(verbose, 2)]
    # Log lines read like the CLI's own "hardbase: warning: ..." lines.
    for number in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
        logging.addLevelName(number, logging.getLevelName(number).lower())
    logging.basicConfig(
        level=level, format="hardbase: %(levelname)s: %(message)s", stream=sys.stderr
    )


scan.register(app)
sbom.register(app)
db.register(app)
build.register(app)
seccomp.register(app)
compare.register(app)
audit.register(app)
graph.register(app)
outdated.register(app)
rebuild.register(app)
rollout.register(app)


class _Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that cleanup code runs."""


def _terminate(_signal: int, _frame: object) -> None:
    raise _Terminated


def main() -> None:
    """Run the command line and exit with its status.

    Usage errors exit with 2 (click's own handling); a HardbaseError exits with
    its ``exit_code`` after one line on standard error, never a traceback.
    SIGTERM (a CI time-out, ``kill``) exits with 143 after the work folders and
    partial files are removed, as Ctrl-C does with 130.
    """
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="hardbase")
    except HardbaseError as error:
        console_err.print(
            f"hardbase: error: {printable(str(error))}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        console_err.print("hardbase: interrupted", markup=False)
        sys.exit(130)
    except _Terminated:
        console_err.print("hardbase: terminated", markup=False)
        sys.exit(128 + signal.SIGTERM)
