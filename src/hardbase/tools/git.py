"""git: find the work tree a file belongs to and commit files in it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hardbase.errors import ToolError
from hardbase.tools._run import run


def toplevel(path: Path) -> Path | None:
    """Return the root of the git work tree that contains ``path``, or None outside one."""
    folder = path if path.is_dir() else path.parent
    try:
        completed = run("git", ["-C", str(folder), "rev-parse", "--show-toplevel"], check=False)
    except ToolError:
        return None
    if completed.returncode != 0:
        return None
    return Path(completed.stdout.decode("utf-8", "replace").strip())


def commit(work_tree: Path, paths: Sequence[Path], message: str) -> str:
    """Commit ``paths`` (and only them) in ``work_tree`` with ``message``; return the commit id.

    Raises ToolError when git fails, for example without a configured identity.
    """
    names = [str(path.resolve().relative_to(work_tree.resolve())) for path in paths]
    run("git", ["-C", str(work_tree), "add", "--", *names])
    run("git", ["-C", str(work_tree), "commit", "--quiet", "-m", message, "--", *names])
    completed = run("git", ["-C", str(work_tree), "rev-parse", "HEAD"])
    return completed.stdout.decode("ascii", "replace").strip()
