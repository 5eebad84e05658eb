"""Run a command under strace to record the syscalls it makes."""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hardbase.errors import InputError, ToolError
from hardbase.tools._run import require, run

logger = logging.getLogger(__name__)

#: Oldest strace tested: 5.x prints the same ``-f`` log format (pid first, ``resumed>``).
MIN_VERSION = (5, 0)


def version() -> tuple[int, int]:
    """Return strace's (major, minor) version, raising ToolError when it is missing or too old."""
    completed = run("strace", ["-V"], timeout=30)
    text = completed.stdout.decode("utf-8", "replace")
    match = re.search(r"version (\d+)\.(\d+)", text)
    if match is None:
        raise ToolError(f"strace printed no version: {text.strip()[:80]!r}")
    found = (int(match.group(1)), int(match.group(2)))
    if found < MIN_VERSION:
        raise ToolError(
            f"strace {found[0]}.{found[1]} is too old",
            hint=f"install strace {MIN_VERSION[0]}.{MIN_VERSION[1]} or later",
        )
    return found


def trace(command: Sequence[str], log: Path, *, timeout: float | None = None) -> int:
    """Run ``command`` under ``strace -f -qq -o log`` and return the command's exit status.

    The command keeps this process's standard input and output. strace
    follows children and threads, so ``log`` lists every process of the tree.
    """
    if not command:
        raise InputError("no command to trace", hint="give it after --, e.g. -- ls -l /")
    executable = require("strace")
    version()
    arguments = [executable, "-f", "-qq", "-o", str(log), "--", *command]
    logger.info("tracing %s", " ".join(command))
    try:
        completed = subprocess.run(arguments, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise ToolError(f"strace: {command[0]} still ran after {timeout} s") from error
    if not log.is_file():
        raise ToolError(
            f"strace wrote no log for {command[0]} (exit status {completed.returncode})",
            hint="check that ptrace is allowed here (kernel.yama.ptrace_scope, container seccomp)",
        )
    return completed.returncode
