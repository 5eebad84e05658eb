"""`hardbase sbom` run as a user runs it: a subprocess on real root filesystems."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, shared_data

HARDBASE = Path(sys.executable).parent / "hardbase"
ALPINE_TARBALLS = sorted((DATA / "alpine").glob("alpine-minirootfs-*.tar.gz"))


def run(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HARDBASE), *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=600,
    )


def sbom(*arguments: str) -> dict[str, Any]:
    result = run("sbom", *arguments)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def cyclonedx_pairs(document: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (c["name"], c["version"]) for c in document["components"] if c["type"] == "library"
    )


def spdx_pairs(document: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (p["name"], p["versionInfo"])
        for p in document["packages"]
        if p.get("primaryPackagePurpose") == "LIBRARY"
    )


def dpkg_query_installed(root: Path) -> list[tuple[str, str]]:
    output = subprocess.run(
        [
            "dpkg-query",
            f"--admindir={root}/var/lib/dpkg",
            "-W",
            "-f",
            "${Package}\t${Version}\t${db:Status-Abbrev}\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split("\t") for line in output.splitlines()]
    # The second letter of db:Status-Abbrev is the package state: "i" for installed.
    return sorted((name, version) for name, version, abbrev in rows if abbrev[1] == "i")


def apk_pairs(tarball: Path) -> list[tuple[str, str]]:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("./lib/apk/db/installed")
        assert member is not None
        text = member.read().decode()
    pairs = []
    for record in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in record.splitlines() if line[1:2] == ":")
        if "P" in fields:
            pairs.append((fields["P"], fields["V"]))
    return sorted(pairs)


@pytest.mark.slow
def test_bookworm_dir_matches_dpkg_query(bookworm_dir: Path) -> None:
    expected = dpkg_query_installed(bookworm_dir)

    document = sbom(f"dir:{bookworm_dir}")

    assert cyclonedx_pairs(document) == expected
    assert len(expected) > 50


@pytest.mark.slow
def test_bookworm_tar_matches_dpkg_query(bookworm_tar: Path, bookworm_dir: Path) -> None:
    expected = dpkg_query_installed(bookworm_dir)

    document = sbom(f"tar:{bookworm_tar}", "--format", "spdx-json")

    assert spdx_pairs(document) == expected


@pytest.mark.slow
def test_bookworm_tar_cyclonedx(bookworm_tar: Path, bookworm_dir: Path) -> None:
    document = sbom(f"tar:{bookworm_tar}")

    assert cyclonedx_pairs(document) == dpkg_query_installed(bookworm_dir)


@pytest.mark.parametrize("tarball", ALPINE_TARBALLS, ids=lambda path: path.name)
def test_alpine_minirootfs_matches_installed(tarball: Path) -> None:
    expected = apk_pairs(tarball)

    document = sbom(f"tar:{tarball}")

    assert cyclonedx_pairs(document) == expected
    assert len(expected) > 10


def test_alpine_tarballs_present() -> None:
    shared_data("alpine")

    assert len(ALPINE_TARBALLS) == 3


def test_stdout_is_only_json() -> None:
    root = shared_data("real-images", "ubuntu1604-held")

    result = run("sbom", f"dir:{root}", "--format", "spdx-json")

    assert result.returncode == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)["spdxVersion"] == "SPDX-2.3"


def test_output_file_written(tmp_path: Path) -> None:
    root = shared_data("real-images", "alpine321-php")
    target = tmp_path / "sbom.cdx.json"

    result = run("sbom", f"dir:{root}", "--output", str(target))

    assert result.returncode == 0
    assert result.stdout == ""
    assert len(json.loads(target.read_text())["components"]) == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sbom.cdx.json"]


def test_missing_image_exits_2(tmp_path: Path) -> None:
    result = run("sbom", str(tmp_path / "no-such-image"))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("hardbase: error: ")
    assert "no-such-image" in result.stderr


def test_invalid_platform_exits_2(tmp_path: Path) -> None:
    result = run("sbom", f"dir:{tmp_path}", "--platform", "amd64")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("hardbase: error: --platform 'amd64'")


def test_unknown_format_exits_2(tmp_path: Path) -> None:
    result = run("sbom", f"dir:{tmp_path}", "--format", "xml")

    assert result.returncode == 2
    assert result.stdout == ""


def test_no_database_warns(tmp_path: Path) -> None:
    result = run("sbom", f"dir:{tmp_path}")

    assert result.returncode == 0
    assert "no dpkg or apk package database found" in result.stderr
    assert json.loads(result.stdout).get("components", []) == []
