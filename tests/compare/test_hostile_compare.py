"""Hostile images and arguments given to ``hardbase compare``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HARDBASE = [sys.executable, "-m", "hardbase"]


def _run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.parametrize("command", ["compare", "scan", "sbom"])
def test_help_with_platform_option_prints(command: str, tmp_path: Path) -> None:
    # "OS/ARCH[/VARIANT]" in help text was read as a closing markup tag.
    result = _run(command, "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-300:]
    assert "OS/ARCH[/VARIANT]" in result.stdout.replace("\n", "")
