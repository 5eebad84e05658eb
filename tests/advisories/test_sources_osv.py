"""The OSV parser for Debian, Ubuntu and Alpine records, from a folder and a zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hardbase.advisories.model import AdvisoryStatus
from hardbase.advisories.sources import FeedError, FeedKind, read_feed

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


def _by_release(path: Path) -> dict[tuple[str, str], object]:
    return {(a.distro, a.release): a for a in read_feed(path).advisories}


def test_osv_debian_release_codename() -> None:
    advisory = _by_release(ASSETS / "osv-folder")[("debian", "bullseye")]

    assert advisory.vulnerability_id == "CVE-2023-1393"
    assert advisory.package == "xorg-server"
    assert advisory.fixed_version == "2:1.20.11-1+deb11u6"
    assert advisory.record == "DSA-5380-1"


def test_osv_alpine_release() -> None:
    found = _by_release(ASSETS / "osv-folder")

    assert found[("alpine", "3.20")].fixed_version == "3.3.2-r0"
    assert found[("alpine", "3.19")].fixed_version == "3.1.7-r0"
    assert found[("alpine", "3.20")].vulnerability_id == "CVE-2024-6119"


def test_osv_ubuntu_pro_open_range() -> None:
    found = _by_release(ASSETS / "osv-folder")
    bionic = found[("ubuntu", "bionic")]

    assert bionic.status is AdvisoryStatus.OPEN
    assert bionic.introduced_version == "2.27-3ubuntu1"
    assert found[("ubuntu", "jammy")].urgency == "high"


def test_osv_ignores_other_ecosystems() -> None:
    advisories = list(read_feed(ASSETS / "osv-folder").advisories)

    assert {a.distro for a in advisories} == {"debian", "ubuntu", "alpine"}
    assert len(advisories) == 5


def test_osv_zip_matches_folder() -> None:
    from_zip = list(read_feed(ASSETS / "osv.sample.zip").advisories)
    from_folder = list(read_feed(ASSETS / "osv-folder").advisories)

    assert sorted(a.vulnerability_id + a.release for a in from_zip) == sorted(
        a.vulnerability_id + a.release for a in from_folder
    )


def test_osv_malformed_record_names_member(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("DSA-1-1.json", '{"id": "DSA-1-1", "affected": [')
    feed = read_feed(archive, FeedKind.OSV)

    with pytest.raises(FeedError, match=r"DSA-1-1.json"):
        list(feed.advisories)
