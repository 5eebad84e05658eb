"""Hostile images and arguments given to ``hardbase compare``.

Each image is a small root filesystem folder written by the test, whose
os-release and dpkg status carry HTML and escape sequences.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HARDBASE = [sys.executable, "-m", "hardbase"]
OS_RELEASE = (
    'PRETTY_NAME="Debian <script>alert(1)</script>"\nID=debian\n'
    'VERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
)
STATUS = (
    "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\n\n"
    "Package: x</svg><script>alert(1)</script>\nStatus: install ok installed\n"
    "Version: 1\nArchitecture: amd64\n"
)


def _run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARDBASE, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cwd,
    )


def _rootfs(folder: Path) -> Path:
    (folder / "etc").mkdir(parents=True)
    (folder / "var" / "lib" / "dpkg").mkdir(parents=True)
    (folder / "etc" / "os-release").write_text(OS_RELEASE)
    (folder / "var" / "lib" / "dpkg" / "status").write_text(STATUS)
    return folder


@pytest.mark.parametrize("command", ["compare", "scan", "sbom"])
def test_help_with_platform_option_prints(command: str, tmp_path: Path) -> None:
    # "OS/ARCH[/VARIANT]" in help text was read as a closing markup tag.
    result = _run(command, "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-300:]
    assert "OS/ARCH[/VARIANT]" in result.stdout.replace("\n", "")


def test_one_image_is_usage_error(tmp_path: Path) -> None:
    image = _rootfs(tmp_path / "a")

    result = _run("compare", "--store", str(tmp_path / "none.db"), f"dir:{image}", cwd=tmp_path)

    assert result.returncode == 2
    assert "at least two images" in result.stderr


def test_escape_sequence_in_reference_is_escaped(tmp_path: Path) -> None:
    first = _rootfs(tmp_path / "x\x1b[31m")
    second = _rootfs(tmp_path / "b")

    result = _run(
        "compare",
        "--store",
        str(tmp_path / "none.db"),
        f"dir:{first}",
        f"dir:{second}",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "x\\x1b[31m" in result.stdout


def test_html_report_escapes_image_fields(tmp_path: Path) -> None:
    first = _rootfs(tmp_path / "a")
    second = _rootfs(tmp_path / "b")
    report = tmp_path / "report.html"

    result = _run(
        "compare",
        "--store",
        str(tmp_path / "none.db"),
        "--format",
        "html",
        "--output",
        str(report),
        f"dir:{first}",
        f"dir:{second}",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    html = report.read_text()
    assert "<script>alert" not in html
    assert "</svg><script" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_same_image_twice_gets_two_labels(tmp_path: Path) -> None:
    image = _rootfs(tmp_path / "a")

    result = _run(
        "compare",
        "--store",
        str(tmp_path / "none.db"),
        "--format",
        "json",
        f"dir:{image}",
        f"dir:{image}",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    labels = [facts["label"] for facts in json.loads(result.stdout)["images"]]
    assert len(set(labels)) == 2
