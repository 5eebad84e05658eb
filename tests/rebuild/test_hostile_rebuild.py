"""Hostile repositories given to ``graph`` and the hardbase.yaml reader.

The contract: a hardbase.yaml that is a FIFO or holds values PyYAML cannot
build gets one error line, exit status 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hardbase", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "cache")},
    )


def test_config_fifo_is_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "hardbase.yaml")

    result = _cli("graph", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "hardbase.yaml: the config is not a regular file" in result.stderr


def test_config_impossible_date_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "hardbase.yaml").write_text("images: 2024-13-45\n")

    result = _cli("graph", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "hardbase.yaml: invalid YAML value: month must be in 1..12" in lines[0]
