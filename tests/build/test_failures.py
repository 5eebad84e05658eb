"""Builds that must fail with one clear line and leave no output or temporary files behind."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

ASSETS = REPO / "tests" / "assets" / "build"


def _hardbase(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from hardbase.cli import main; main()", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("hardbase: error:")]


def _assert_nothing_left(work_tmp: Path) -> None:
    assert sorted(p.name for p in work_tmp.iterdir()) == ["tmp"]
    assert list((work_tmp / "tmp").iterdir()) == []


def test_unknown_key_one_line(work_tmp: Path) -> None:
    spec = ASSETS / "unknown-key.yaml"
    result = _hardbase("build", str(spec), "--output", f"oci:{work_tmp / 'out'}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown key 'strip-manpages'" in result.stderr
    assert str(spec) in result.stderr
    _assert_nothing_left(work_tmp)


@pytest.mark.slow
def test_unreachable_mirror_fails_cleanly(work_tmp: Path) -> None:
    mirror = f"http://127.0.0.1:{_closed_port()}/debian"
    spec = work_tmp / "tmp" / "unreachable.yaml"
    spec.write_text(f"name: unreachable\ndistribution:\n  mirror: {mirror}\n  security: false\n")
    output = work_tmp / "out"
    result = _hardbase("build", str(spec), "--output", f"oci:{output}")
    spec.unlink()
    assert result.returncode == 2
    assert len(_error_lines(result)) == 1
    assert "cannot reach the Debian mirror" in result.stderr
    assert "127.0.0.1" in result.stderr
    _assert_nothing_left(work_tmp)


@pytest.mark.slow
@pytest.mark.network
def test_missing_package_fails_cleanly(work_tmp: Path) -> None:
    spec = ASSETS / "missing-package.yaml"
    result = _hardbase("build", str(spec), "--output", f"docker-archive:{work_tmp / 'out.tar'}")
    assert result.returncode == 2
    assert len(_error_lines(result)) == 1
    assert "package hardbase-no-such-package not found in bookworm" in result.stderr
    assert str(spec) in result.stderr
    _assert_nothing_left(work_tmp)


def test_bad_output_transport_rejected(work_tmp: Path) -> None:
    result = _hardbase("build", str(REPO / "examples" / "debian-base.yaml"), "-o", "dir:/x")
    assert result.returncode == 2
    assert "unsupported output" in result.stderr
    _assert_nothing_left(work_tmp)


def test_bad_push_reference_rejected(work_tmp: Path) -> None:
    result = _hardbase(
        "build",
        str(REPO / "examples" / "debian-base.yaml"),
        "-o",
        f"oci:{work_tmp / 'out'}",
        "--push",
        "registry.example/name",
    )
    assert result.returncode == 2
    assert "expected docker://HOST/NAME:TAG" in result.stderr
    _assert_nothing_left(work_tmp)
