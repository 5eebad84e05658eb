"""The Alpine secdb parser, on every real YAML file and on a JSON excerpt."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_data
from hardbase.advisories.model import AdvisoryStatus
from hardbase.advisories.sources import FeedError, FeedKind, read_feed
from hardbase.advisories.sources.alpine_secdb import split_ids

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


def test_every_yaml_secdb_parses() -> None:
    files = sorted(shared_data("alpine", "secdb").glob("v*/*.yaml"))

    assert len(files) == 18
    for path in files:
        feed = read_feed(path)
        advisories = list(feed.advisories)
        release = path.parent.name.removeprefix("v")
        assert feed.kind is FeedKind.ALPINE_SECDB, path
        assert feed.name == f"alpine-secdb/v{release}/{path.stem}", path
        assert all(a.release == release for a in advisories), path


def test_yaml_secdb_reports_invalid_versions() -> None:
    feed = read_feed(shared_data("alpine", "secdb", "v3.8", "main.yaml"))
    list(feed.advisories)

    assert "secdb v3.8/main mariadb: invalid version '10.2.26.r0'" in feed.skipped
    assert "secdb v3.8/main xen: invalid version '4.10-1-r1'" in feed.skipped


def test_yaml_secdb_keeps_version_strings() -> None:
    advisories = list(read_feed(shared_data("alpine", "secdb", "v3.10", "main.yaml")).advisories)
    ansible = [a for a in advisories if a.package == "ansible" and a.fixed_version == "2.8.4-r0"]

    assert {a.vulnerability_id for a in ansible} == {"CVE-2019-10206", "CVE-2019-10217"}
    assert ansible[0].repository == "main"
    assert ansible[0].record == "secdb v3.10/main"


def test_yaml_secdb_cve_with_space_typo() -> None:
    advisories = list(read_feed(shared_data("alpine", "secdb", "v3.9", "main.yaml")).advisories)
    ansible = [a for a in advisories if a.package == "ansible" and a.fixed_version == "2.7.3-r0"]

    assert [a.vulnerability_id for a in ansible] == ["CVE-2018-16859"]


def test_json_secdb_never_affected_version() -> None:
    advisories = list(read_feed(ASSETS / "alpine-v3.20-main.json").advisories)
    busybox = {a.vulnerability_id: a for a in advisories if a.fixed_version == "0"}

    assert set(busybox) == {"CVE-2021-42373", "CVE-2021-42376"}
    assert busybox["CVE-2021-42373"].status is AdvisoryStatus.NOT_AFFECTED


def test_json_secdb_release_from_distroversion() -> None:
    feed = read_feed(ASSETS / "alpine-v3.20-main.json")
    advisories = list(feed.advisories)

    assert feed.name == "alpine-secdb/v3.20/main"
    assert {a.release for a in advisories} == {"3.20"}
    assert feed.skipped == ["secdb v3.20/main irssi: invalid version '0.8.21.r2'"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CVE-2017-8904 XSA-214", [("CVE-2017-8904", ("XSA-214",))]),
        ("XSA-207", [("XSA-207", ())]),
        ("CVE_2019-2426", [("CVE-2019-2426", ())]),
        ("CVE-2017-8073.patch", [("CVE-2017-8073", ())]),
        ("CVE-2019-15167 (VRRP)", [("CVE-2019-15167", ())]),
        ("CVE-????-?????  XSA-295", [("XSA-295", ())]),
        ("not an id", []),
    ],
)
def test_split_ids(line: str, expected: list[tuple[str, tuple[str, ...]]]) -> None:
    assert split_ids(line) == expected


def test_secdb_without_distroversion_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "main.yaml"
    path.write_text("reponame: main\npackages:\n  - pkg:\n      name: x\n")

    with pytest.raises(FeedError, match="distroversion"):
        read_feed(path, FeedKind.ALPINE_SECDB)
