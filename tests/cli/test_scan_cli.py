"""`hardbase scan` run as a user runs it: a subprocess on real images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import REPO, shared_data

HARDBASE = [sys.executable, "-m", "hardbase"]
SCHEMA = json.loads((REPO / "docs" / "schemas" / "scan-report.schema.json").read_text())
OFFLINE = ["--no-pending-updates", "--no-vulnerabilities"]


def run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARDBASE_STORE": str(Path(cwd or REPO) / "no-store.db")}
    return subprocess.run(
        [*HARDBASE, *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_scan_json_bookworm_matches_schema(bookworm_tar: Path, tmp_path: Path) -> None:
    result = run("scan", f"tar:{bookworm_tar}", "--format", "json", *OFFLINE, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    assert report["schema_version"] == 1
    assert report["distro"]["codename"] == "bookworm"
    assert report["image"]["transport"] == "tar"
    assert report["image"]["has_config"] is False
    assert report["packages"]["count"] > 80


@pytest.mark.slow
def test_scan_table_names_image_and_os(bookworm_tar: Path, tmp_path: Path) -> None:
    result = run("scan", f"tar:{bookworm_tar}", *OFFLINE, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert str(bookworm_tar) in result.stdout
    assert "Debian GNU/Linux 12 (bookworm)" in result.stdout
    assert "Hardening" in result.stdout


@pytest.mark.slow
def test_scan_fail_on_threshold_exits_one(bookworm_tar: Path, tmp_path: Path) -> None:
    # A minbase root filesystem has setuid files, which are medium findings.
    result = run(
        "scan",
        f"tar:{bookworm_tar}",
        "--format",
        "json",
        "--fail-on",
        "medium",
        *OFFLINE,
        cwd=tmp_path,
    )

    assert result.returncode == 1
    severities = {f["severity"] for f in json.loads(result.stdout)["findings"]}
    assert "medium" in severities


@pytest.mark.slow
def test_scan_fail_on_unreached_exits_zero(bookworm_tar: Path, tmp_path: Path) -> None:
    result = run(
        "scan",
        f"tar:{bookworm_tar}",
        "--format",
        "json",
        "--fail-on",
        "critical",
        *OFFLINE,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    severities = {f["severity"] for f in json.loads(result.stdout)["findings"]}
    assert "critical" not in severities


def test_scan_alpine_output_file(tmp_path: Path) -> None:
    tarball = shared_data("alpine", "alpine-minirootfs-3.20.3-x86_64.tar.gz")
    target = tmp_path / "report.json"

    result = run(
        "scan",
        str(tarball),
        "--format",
        "json",
        "--output",
        str(target),
        "--no-vulnerabilities",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = json.loads(target.read_text())
    assert report["distro"]["release"] == "3.20"
    assert report["checks"]["pending-updates"].startswith("skipped")
    assert not list(tmp_path.glob(".report.json.*"))
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_scan_missing_image_exits_two_with_one_line(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path / "absent.tar"), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "absent.tar" in lines[0]


def test_scan_hostile_layer_exits_two(tmp_path: Path) -> None:
    import io
    import tarfile

    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as archive:
        info = tarfile.TarInfo("../../escape.txt")
        data = b"outside"
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))

    result = run("scan", f"tar:{hostile}", *OFFLINE, cwd=tmp_path)

    assert result.returncode == 2
    assert "points outside the image root" in result.stderr
    assert not (tmp_path.parent / "escape.txt").exists()
    assert "Traceback" not in result.stderr


def test_scan_unknown_severity_is_usage_error(tmp_path: Path) -> None:
    tarball = shared_data("alpine", "alpine-minirootfs-3.20.3-x86_64.tar.gz")

    result = run("scan", str(tarball), "--fail-on", "severe", *OFFLINE, cwd=tmp_path)

    assert result.returncode == 2
    assert "severe" in result.stderr


def test_scan_table_says_what_was_not_checked(tmp_path: Path) -> None:
    tarball = shared_data("alpine", "alpine-minirootfs-3.20.3-x86_64.tar.gz")

    # The store named by HARDBASE_STORE in run() does not exist.
    result = run("scan", str(tarball), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Not complete: vulnerabilities: skipped: no advisory store" in result.stdout
    assert "stored in 1 layer(s)" in result.stdout


def test_scan_output_dev_null_keeps_device(tmp_path: Path) -> None:
    tarball = shared_data("alpine", "alpine-minirootfs-3.20.3-x86_64.tar.gz")

    result = run("scan", str(tarball), "-o", os.devnull, *OFFLINE, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert Path(os.devnull).is_char_device()
