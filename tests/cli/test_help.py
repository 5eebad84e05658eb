"""Every command's --help prints and exits 0: help text is user input to rich's markup parser."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = [
    (),
    ("scan",),
    ("sbom",),
    ("db",),
    ("db", "update"),
    ("db", "import"),
    ("db", "status"),
    ("build",),
    ("seccomp",),
    ("seccomp", "validate"),
    ("seccomp", "record"),
    ("seccomp", "generate"),
    ("seccomp", "run"),
    ("seccomp", "diff"),
    ("audit",),
    ("graph",),
    ("outdated",),
    ("rebuild",),
    ("rollout",),
    ("compare",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "hardbase")
def test_help_prints(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hardbase", *command, "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "Traceback" not in result.stderr
