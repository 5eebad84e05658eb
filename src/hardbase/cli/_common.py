"""Helpers shared by the command modules: consoles, output files, progress bars."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from hardbase.errors import InputError

#: Logs, warnings and progress go to standard error; reports go to standard output.
#: Emoji codes are off, so that an input such as the reference a:b:c prints as is
#: rather than with ":b:" turned into an emoji.
console_err = Console(stderr=True, emoji=False)

#: C0 and C1 control characters, which an image or feed could use to rewrite the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Return ``text`` with control characters and undecodable bytes shown as escapes."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def print_warning(message: str) -> None:
    """Print one warning line on standard error, with any control characters escaped."""
    console_err.print(
        f"hardbase: warning: {printable(message)}", markup=False, highlight=False, soft_wrap=True
    )


#: ``OS/ARCH`` or ``OS/ARCH/VARIANT``, as OCI image indexes name platforms.
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")


def check_platform(platform: str | None) -> None:
    """Raise InputError unless ``platform`` is None or ``OS/ARCH[/VARIANT]``."""
    if platform is not None and not _PLATFORM.match(platform):
        raise InputError(
            f"--platform {platform!r} is not OS/ARCH[/VARIANT]", hint="write it as linux/amd64"
        )


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
    if output == Path(os.devnull):
        # `-o /dev/null` runs a check for its exit status alone; there is
        # nothing to write atomically.
        return
    if output.exists() and not output.is_file():
        # Renaming over a folder fails, and over a FIFO or device node replaces it.
        raise InputError(
            f"--output {output}: not a regular file", hint="give the path of a file to write"
        )
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept on error
            "w", encoding="utf-8", dir=folder, prefix=f".{output.name}.", delete=False
        )
    except OSError as error:
        raise InputError(
            f"--output {output}: cannot write in {folder} ({error.strerror})",
            hint="check the folder's permissions",
        ) from None
    partial = Path(handle.name)
    try:
        with handle:
            handle.write(text)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(
            f"--output {output}: cannot write in {folder} ({error.strerror})",
            hint="free space in the folder and retry",
        ) from None
    try:
        # NamedTemporaryFile creates the file with mode 0600; give the report
        # the mode a plain open() would, as the umask allows.
        umask = os.umask(0)
        os.umask(umask)
        partial.chmod(0o666 & ~umask)
        partial.replace(output)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(
            f"--output {output}: cannot replace the file ({error.strerror})",
            hint="check the file and its folder",
        ) from None


@contextmanager
def stderr_warnings() -> Iterator[list[str]]:
    """Collect warnings to print on standard error once the work is done."""
    collected: list[str] = []
    yield collected
    for line in collected:
        print_warning(line)
