"""The Debian security tracker JSON parser."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hardbase.advisories.model import AdvisoryStatus
from hardbase.advisories.sources import FeedError, debian_tracker, read_feed

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


def _advisories() -> dict[tuple[str, str, str], object]:
    feed = read_feed(ASSETS / "tracker.sample.json")
    return {(a.package, a.vulnerability_id, a.release): a for a in feed.advisories}


def test_tracker_one_advisory_per_release() -> None:
    advisories = _advisories()

    assert len(advisories) == 17
    assert {r for p, c, r in advisories if c == "CVE-2023-0286"} == {
        "bookworm",
        "bullseye",
        "sid",
        "trixie",
    }


def test_tracker_resolved_entry() -> None:
    advisory = _advisories()[("glibc", "CVE-2023-4911", "bookworm")]

    assert advisory.status is AdvisoryStatus.FIXED
    assert advisory.fixed_version == "2.36-9+deb12u3"
    assert advisory.repository == "bookworm"
    assert advisory.urgency == "not yet assigned"
    assert advisory.description.startswith("A buffer overflow")


def test_tracker_fixed_version_zero_is_not_affected() -> None:
    advisory = _advisories()[("glibc", "CVE-2023-4911", "bullseye")]

    assert advisory.status is AdvisoryStatus.NOT_AFFECTED
    assert advisory.fixed_version == "0"


def test_tracker_open_with_nodsa() -> None:
    advisory = _advisories()[("zlib", "CVE-2023-45853", "bookworm")]

    assert advisory.status is AdvisoryStatus.OPEN
    assert advisory.nodsa_reason == "ignored"
    assert advisory.nodsa.startswith("contrib/minizip")


def test_tracker_unimportant_urgency() -> None:
    advisory = _advisories()[("openssl", "CVE-2010-0928", "bookworm")]

    assert advisory.status is AdvisoryStatus.OPEN
    assert advisory.urgency == "unimportant"


def test_tracker_end_of_life_urgency() -> None:
    advisory = _advisories()[("firefox-esr", "CVE-2017-5398", "buster")]

    assert advisory.status is AdvisoryStatus.END_OF_LIFE


def test_tracker_undetermined_temp_issue() -> None:
    advisory = _advisories()[("glibc", "TEMP-0000000-8C2A7E", "sid")]

    assert advisory.status is AdvisoryStatus.UNDETERMINED


def test_tracker_truncated_names_input() -> None:
    path = ASSETS / "tracker.truncated.json"
    feed = read_feed(path)

    with pytest.raises(FeedError, match=r"tracker.truncated.json.*truncated"):
        list(feed.advisories)


def test_tracker_trailing_text_rejected() -> None:
    stream = io.StringIO('{"a": {}} extra')

    with pytest.raises(FeedError, match="after the end"):
        list(debian_tracker.iter_packages(stream, "doc"))


def test_tracker_reads_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debian_tracker, "_CHUNK_CHARS", 7)
    text = (ASSETS / "tracker.sample.json").read_text()

    packages = [name for name, _ in debian_tracker.iter_packages(io.StringIO(text), "doc")]

    assert packages == ["openssl", "zlib", "glibc", "firefox-esr", "linux"]


def test_tracker_bad_entry_skipped() -> None:
    skipped: list[str] = []
    issues = {"CVE-2024-1": {"releases": {"sid": {"status": "weird"}, "trixie": []}}}

    advisories = list(debian_tracker.parse_package("demo", issues, skipped))

    assert advisories == []
    assert len(skipped) == 2
