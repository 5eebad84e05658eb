"""The DSA and DLA list parser, on the tracker's real lists and on odd line shapes."""

from __future__ import annotations

from pathlib import Path

from conftest import shared_data
from hardbase.advisories.model import AdvisoryStatus
from hardbase.advisories.sources import FeedKind, read_feed
from hardbase.advisories.sources.debian_lists import parse_lines


def _by_record(path: Path, record: str) -> list:
    return [a for a in read_feed(path).advisories if a.record == record]


def test_dsa_list_pins_xorg_server_fix() -> None:
    found = _by_record(shared_data("debian", "DSA-list"), "DSA-5380-1")

    assert len(found) == 1
    advisory = found[0]
    assert advisory.vulnerability_id == "CVE-2023-1393"
    assert advisory.package == "xorg-server"
    assert advisory.release == "bullseye"
    assert advisory.status is AdvisoryStatus.FIXED
    assert advisory.fixed_version == "2:1.20.11-1+deb11u6"
    assert advisory.source == "debian-dsa"
    assert advisory.repository == "bullseye-security"


def test_dsa_list_one_advisory_per_cve() -> None:
    found = _by_record(shared_data("debian", "DSA-list"), "DSA-5378-1")

    assert {a.vulnerability_id for a in found} == {
        "CVE-2022-23824",
        "CVE-2022-42331",
        "CVE-2022-42332",
        "CVE-2022-42333",
        "CVE-2022-42334",
    }
    assert {a.fixed_version for a in found} == {"4.14.5+94-ge49571868d-1"}


def test_dsa_without_cves_uses_its_own_id() -> None:
    found = _by_record(shared_data("debian", "DSA-list"), "DSA-5356-2")

    assert [a.vulnerability_id for a in found] == ["DSA-5356-2"]
    assert found[0].package == "sox"


def test_dsa_list_parses_every_line() -> None:
    feed = read_feed(shared_data("debian", "DSA-list"))
    advisories = list(feed.advisories)

    assert feed.kind is FeedKind.DEBIAN_DSA
    assert feed.skipped == []
    assert len(advisories) > 20000


def test_dsa_list_not_affected_marker() -> None:
    found = [
        a
        for a in read_feed(shared_data("debian", "DSA-list")).advisories
        if a.status is AdvisoryStatus.NOT_AFFECTED
    ]

    assert found
    assert all(a.fixed_version is None for a in found)


def test_dsa_list_urgency_from_note() -> None:
    advisories = list(read_feed(shared_data("debian", "DSA-list")).advisories)
    urgencies = {a.urgency for a in advisories}

    assert {"low", "medium", "high"} <= urgencies


def test_dsa_list_double_space_version() -> None:
    advisories = list(read_feed(shared_data("debian", "DSA-list")).advisories)
    curl = [a for a in advisories if a.package == "curl" and a.fixed_version == "7.26.0-1+wheezy5"]

    assert curl


def test_dla_list_pins_xorg_server_fix() -> None:
    feed = read_feed(shared_data("debian", "DLA-list"))
    found = [a for a in feed.advisories if a.record == "DLA-3372-1"]

    assert feed.kind is FeedKind.DEBIAN_DLA
    assert len(found) == 1
    assert found[0].vulnerability_id == "CVE-2023-1393"
    assert found[0].release == "buster"
    assert found[0].fixed_version == "2:1.20.4-1+deb10u9"
    assert found[0].source == "debian-dla"


def test_dla_list_end_of_life_marker() -> None:
    feed = read_feed(shared_data("debian", "DLA-list"))
    eol = [a for a in feed.advisories if a.status is AdvisoryStatus.END_OF_LIFE]

    assert [(a.release, a.package) for a in eol] == [("squeeze", "virtualbox-ose")]
    assert feed.skipped == []


LINES = [
    "[01 Jan 2020] DSA-9999-1 demo - security update",
    "\t{CVE-2020-0001 CVE-2020-0002}",
    "\t[buster] - demo 1.0-1+deb10u1 (bug #123456; high)",
    "\t[stretch] - demo <no-dsa> (Minor issue)",
    "\t[jessie] - demo <postponed> (Revisit later)",
    "\t[wheezy] - demo <removed>",
    "\t[squeeze] - demo not^a^version",
    "this line has no known shape",
    "\tNOTE: a free-text note",
]


def test_parse_lines_counts_unparsable_lines() -> None:
    skipped: list[str] = []
    advisories = list(parse_lines(LINES, FeedKind.DEBIAN_DSA, skipped))

    assert len(advisories) == 6
    assert len(skipped) == 3
    assert any("line 6" in message and "<removed>" in message for message in skipped)
    assert any("line 7" in message and "invalid version" in message for message in skipped)
    assert any("line 8" in message for message in skipped)


def test_parse_lines_no_dsa_fields() -> None:
    advisories = list(parse_lines(LINES, FeedKind.DEBIAN_DSA, []))
    by_release = {a.release: a for a in advisories if a.vulnerability_id == "CVE-2020-0001"}

    assert by_release["buster"].urgency == "high"
    assert by_release["stretch"].status is AdvisoryStatus.OPEN
    assert by_release["stretch"].nodsa == "Minor issue"
    assert by_release["stretch"].nodsa_reason is None
    assert by_release["jessie"].nodsa_reason == "postponed"
