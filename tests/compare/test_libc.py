"""C library detection: package records first, then loaders and libc.so.6 on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from compare_readers import dpkg_installed

from hardbase.compare.libc import detect_libc, upstream_version
from hardbase.image.reader import open_image
from hardbase.packages import read_inventory


def detect(root: Path):
    with open_image(f"dir:{root}") as image:
        return detect_libc(image.fs, read_inventory(image.fs))


@pytest.mark.parametrize(
    ("version", "upstream"),
    [("2.36-9+deb12u9", "2.36"), ("1.2.5-r0", "1.2.5"), ("1:2.3.1-1", "2.3.1"), ("abc", None)],
)
def test_upstream_version(version: str, upstream: str | None) -> None:
    assert upstream_version(version) == upstream


def test_glibc_from_libc6_package(bookworm_dir: Path) -> None:
    libc6 = dpkg_installed((bookworm_dir / "var/lib/dpkg/status").read_bytes())["libc6"]
    facts = detect(bookworm_dir)
    assert facts.family == "glibc"
    assert facts.version == libc6.split("-")[0]
    assert facts.evidence == f"package libc6 {libc6}"


def test_glibc_banner_without_package(bookworm_dir: Path, tmp_path: Path) -> None:
    libc6 = dpkg_installed((bookworm_dir / "var/lib/dpkg/status").read_bytes())["libc6"]
    target = tmp_path / "usr/lib/x86_64-linux-gnu"
    target.mkdir(parents=True)
    shutil.copyfile(bookworm_dir / "usr/lib/x86_64-linux-gnu/libc.so.6", target / "libc.so.6")
    facts = detect(tmp_path)
    assert facts.family == "glibc"
    assert facts.version == libc6.split("-")[0]
    assert "no libc6 package record" in facts.evidence


def test_musl_loader_without_package(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/ld-musl-x86_64.so.1").write_bytes(b"\x7fELF")
    facts = detect(tmp_path)
    assert facts.family == "musl"
    assert facts.version is None


def test_no_libc_found(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    facts = detect(tmp_path)
    assert facts.family is None
    assert facts.version is None
