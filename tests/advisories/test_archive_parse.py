"""The Packages line scanner, checked against python-debian on real index paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest
from debian.deb822 import Packages

from hardbase.advisories.archive import IndexEntry, parse_packages
from hardbase.versions import compare_dpkg

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "archive"
INDICES = ["Packages.bookworm", "Packages.bookworm-security", "Packages.bookworm-updates"]


def reference_entries(data: bytes) -> dict[tuple[str, str], IndexEntry]:
    """Parse with python-debian's full paragraph parser."""
    entries = {}
    for paragraph in Packages.iter_paragraphs(
        data.decode().splitlines(keepends=True), use_apt_pkg=False
    ):
        name = paragraph["Package"]
        source = paragraph.get("Source", name).split(" ")[0]
        entries[(name, paragraph["Architecture"])] = IndexEntry(paragraph["Version"], source)
    return entries


@pytest.mark.parametrize("name", INDICES)
def test_scanner_matches_python_debian(name: str) -> None:
    data = (ASSETS / name).read_bytes()
    assert parse_packages(data) == reference_entries(data)


def test_source_version_is_dropped() -> None:
    entries = parse_packages((ASSETS / "Packages.bookworm").read_bytes())
    assert entries[("a56", "amd64")] == IndexEntry("1.3+dfsg-9+b1", "a56")


def test_missing_source_means_own_name() -> None:
    entries = parse_packages((ASSETS / "Packages.bookworm").read_bytes())
    assert entries[("apt", "amd64")].source == "apt"


def test_duplicate_keeps_higher_version() -> None:
    data = (
        b"Package: tzdata\nVersion: 2026f-0+deb12u1\nArchitecture: all\n\n"
        b"Package: tzdata\nVersion: 2026b-0+deb12u1\nArchitecture: all\n\n"
        b"Package: tzdata\nVersion: 2025b-0+deb12u1\nArchitecture: all\n"
    )
    entries = parse_packages(data, compare=compare_dpkg)
    assert entries[("tzdata", "all")].version == "2026f-0+deb12u1"


def test_paragraph_without_version_is_skipped() -> None:
    data = (
        b"Package: broken\nArchitecture: amd64\n\n"
        b"Package: apt\nVersion: 2.6.1\nArchitecture: amd64\n"
    )
    assert list(parse_packages(data)) == [("apt", "amd64")]


def test_field_names_inside_descriptions_are_ignored() -> None:
    data = (
        b"Package: apt\nVersion: 2.6.1\nArchitecture: amd64\n"
        b"Description: package manager\n Version: 9.9\n Package: fake\n"
    )
    assert parse_packages(data) == {("apt", "amd64"): IndexEntry("2.6.1", "apt")}


def test_whitespace_only_line_separates_paragraphs() -> None:
    data = (
        b"Package: apt\nVersion: 2.6.1\nArchitecture: amd64\n \n"
        b"Package: tzdata\nVersion: 2026b-0+deb12u1\nArchitecture: all\n"
    )
    assert set(parse_packages(data)) == {("apt", "amd64"), ("tzdata", "all")}
