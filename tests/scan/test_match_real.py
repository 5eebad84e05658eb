"""Matching real package databases against real advisory data, with expectations worked out by hand.

The feeds go through the real parsers and the real SQLite store. Each expected
list below was written by reading the installed versions from the package
database and the records for those packages from the feed files, not by
running the matcher.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from conftest import shared_data
from hardbase.advisories.store import AdvisoryStore
from hardbase.advisories.update import import_files
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.scan.match import MatchResult, Verdict, match_vulnerabilities

#: Fixed date, so that end-of-support notes do not depend on the day the tests run.
TODAY = date(2025, 1, 1)


@pytest.fixture(scope="module")
def debian_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdvisoryStore]:
    lists = shared_data("debian")
    path = tmp_path_factory.mktemp("store") / "advisories.db"
    import_files([lists / "DSA-list", lists / "DLA-list"], store_path=path)
    with AdvisoryStore.open(path) as store:
        yield store


@pytest.fixture(scope="module")
def alpine_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdvisoryStore]:
    secdb = shared_data("alpine", "secdb")
    files = [
        secdb / release / f"{repo}.yaml"
        for release in ("v3.10", "v3.11")
        for repo in ("main", "community")
    ]
    path = tmp_path_factory.mktemp("store") / "advisories.db"
    import_files(files, store_path=path)
    with AdvisoryStore.open(path) as store:
        yield store


def real_image(name: str) -> Inventory:
    root = shared_data("real-images", name)
    return read_inventory(HostDirView(root, name))


def minirootfs(version: str, target: Path) -> Inventory:
    tarball = shared_data("alpine", f"alpine-minirootfs-{version}-x86_64.tar.gz")
    with tarfile.open(tarball) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name in ("./lib/apk/db/installed", "./etc/os-release")
        ]
        archive.extractall(target, members=members, filter="data")
    return read_inventory(HostDirView(target, tarball.name))


def found(result: MatchResult) -> list[tuple[str, str, str, str, str | None]]:
    """(source package, binaries, installed version, id, fixed version) of each finding."""
    rows = []
    for finding in result.findings:
        evidence = finding.evidence
        rows.append(
            (
                evidence["source_package"],
                ",".join(evidence["packages"]),
                evidence["installed_version"],
                finding.rule_id,
                evidence.get("fixed_version"),
            )
        )
    return sorted(rows)


def decision_of(
    result: MatchResult, vulnerability_id: str, source: str
) -> tuple[Verdict, str, str]:
    for decision in result.decisions:
        if decision.vulnerability_id == vulnerability_id and decision.source_package == source:
            return decision.verdict, decision.rule, decision.record
    raise AssertionError(f"no decision for {vulnerability_id} in {source}")


# Alpine 3.10.2 (alpine310-mbl-armv7) against secdb v3.10 main and community.
# Installed origin versions and the v3.10 records above them:
#   curl 7.65.1-r0       7.66.0-r0: CVE-2019-5481 CVE-2019-5482
#   e2fsprogs 1.45.2-r0  1.45.2-r1: CVE-2019-5094
#   expat 2.2.7-r0       2.2.7-r1: CVE-2019-15903 (2.2.7-r0: CVE-2018-20843 is fixed)
#   file 5.37-r0         5.37-r1: CVE-2019-19218 (the id as v3.10 writes it)
#   mosquitto 1.6.3-r0   1.6.3-r1: CVE-2019-11779
#   openssl 1.1.1c-r0    1.1.1d-r0: CVE-2019-1547 CVE-2019-1549 CVE-2019-1563
#   sqlite 3.28.0-r0     3.28.0-r1: CVE-2019-16168
# Every other record of busybox, bzip2, git, krb5, musl, ncurses, nghttp2 and perl
# is at or below the installed version. v3.11 adds records that must not apply:
# openssl CVE-2019-1551, git CVE-2019-1348, gettext CVE-2018-18751, e2fsprogs
# CVE-2019-5188, sqlite CVE-2019-19242, file CVE-2019-18218.
ALPINE_310_EXPECTED = [
    ("curl", "libcurl", "7.65.1-r0", "CVE-2019-5481", "7.66.0-r0"),
    ("curl", "libcurl", "7.65.1-r0", "CVE-2019-5482", "7.66.0-r0"),
    ("e2fsprogs", "libcom_err", "1.45.2-r0", "CVE-2019-5094", "1.45.2-r1"),
    ("expat", "expat", "2.2.7-r0", "CVE-2019-15903", "2.2.7-r1"),
    ("file", "libmagic", "5.37-r0", "CVE-2019-19218", "5.37-r1"),
    ("mosquitto", "mosquitto,mosquitto-libs", "1.6.3-r0", "CVE-2019-11779", "1.6.3-r1"),
    ("openssl", "libcrypto1.1,libssl1.1", "1.1.1c-r0", "CVE-2019-1547", "1.1.1d-r0"),
    ("openssl", "libcrypto1.1,libssl1.1", "1.1.1c-r0", "CVE-2019-1549", "1.1.1d-r0"),
    ("openssl", "libcrypto1.1,libssl1.1", "1.1.1c-r0", "CVE-2019-1563", "1.1.1d-r0"),
    ("sqlite", "sqlite-libs", "3.28.0-r0", "CVE-2019-16168", "3.28.0-r1"),
]


def test_alpine_310_image_findings(alpine_store: AdvisoryStore) -> None:
    result = match_vulnerabilities(real_image("alpine310-mbl-armv7"), alpine_store, today=TODAY)
    assert found(result) == ALPINE_310_EXPECTED


def test_alpine_310_ignores_311_records(alpine_store: AdvisoryStore) -> None:
    result = match_vulnerabilities(real_image("alpine310-mbl-armv7"), alpine_store, today=TODAY)
    releases = {d.release for d in result.decisions}
    ids = {d.vulnerability_id for d in result.decisions}
    assert releases == {"3.10"}
    assert ids.isdisjoint({"CVE-2019-1551", "CVE-2019-1348", "CVE-2018-18751", "CVE-2019-19242"})


def test_alpine_310_past_support_note(alpine_store: AdvisoryStore) -> None:
    result = match_vulnerabilities(real_image("alpine310-mbl-armv7"), alpine_store, today=TODAY)
    assert len(result.notes) == 1
    assert "2021-05-01" in result.notes[0]


# Alpine 3.10.9 minirootfs: musl 1.1.22-r4, busybox 1.30.1-r5, openssl 1.1.1k-r0,
# zlib 1.2.11-r1, apk-tools 2.10.6-r0 and others without records. Every v3.10 record
# of busybox, musl and openssl is at or below those versions: no finding.
ALPINE_3109_FIXED = [
    ("busybox", "CVE-2017-15873", "1.27.2-r4"),
    ("busybox", "CVE-2017-15874", "1.27.2-r4"),
    ("busybox", "CVE-2017-16544", "1.27.2-r4"),
    ("busybox", "CVE-2018-20679", "1.29.3-r10"),
    # Listed under 1.30.1-r2 and 1.29.3-r10: the higher version counts.
    ("busybox", "CVE-2019-5747", "1.30.1-r2"),
    ("musl", "CVE-2016-8859", "1.1.15-r4"),
    ("musl", "CVE-2019-14697", "1.1.22-r3"),
    ("openssl", "CVE-2018-0734", "1.1.1a-r0"),
    ("openssl", "CVE-2018-0735", "1.1.1a-r0"),
    ("openssl", "CVE-2019-1543", "1.1.1b-r1"),
    ("openssl", "CVE-2019-1547", "1.1.1d-r0"),
    ("openssl", "CVE-2019-1549", "1.1.1d-r0"),
    ("openssl", "CVE-2019-1563", "1.1.1d-r0"),
]

# Alpine 3.11.13 minirootfs: musl 1.1.24-r3, busybox 1.31.1-r11, openssl 1.1.1l-r0.
# v3.11 moves musl's CVE-2019-14697 to 1.1.23-r2 and openssl's CVE-2019-1547 group to
# 1.1.1d-r1, and adds CVE-2019-1551 at 1.1.1d-r3; all below the installed versions.
ALPINE_31113_FIXED = [
    ("busybox", "CVE-2017-15873", "1.27.2-r4"),
    ("busybox", "CVE-2017-15874", "1.27.2-r4"),
    ("busybox", "CVE-2017-16544", "1.27.2-r4"),
    ("busybox", "CVE-2018-20679", "1.29.3-r10"),
    ("busybox", "CVE-2019-5747", "1.30.1-r2"),
    ("musl", "CVE-2016-8859", "1.1.15-r4"),
    ("musl", "CVE-2019-14697", "1.1.23-r2"),
    ("openssl", "CVE-2018-0734", "1.1.1a-r0"),
    ("openssl", "CVE-2018-0735", "1.1.1a-r0"),
    ("openssl", "CVE-2019-1543", "1.1.1b-r1"),
    ("openssl", "CVE-2019-1547", "1.1.1d-r1"),
    ("openssl", "CVE-2019-1549", "1.1.1d-r1"),
    ("openssl", "CVE-2019-1551", "1.1.1d-r3"),
    ("openssl", "CVE-2019-1563", "1.1.1d-r1"),
]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("3.10.9", ALPINE_3109_FIXED), ("3.11.13", ALPINE_31113_FIXED)],
)
def test_alpine_minirootfs_all_fixed(
    alpine_store: AdvisoryStore, tmp_path: Path, version: str, expected: list[tuple[str, str, str]]
) -> None:
    result = match_vulnerabilities(minirootfs(version, tmp_path), alpine_store, today=TODAY)
    decided = sorted(
        (d.source_package, d.vulnerability_id, d.fixed_version) for d in result.decisions
    )
    assert result.findings == ()
    assert decided == expected
    assert {d.verdict for d in result.decisions} == {Verdict.FIXED}


def test_buster_below_dla_and_dsa(debian_store: AdvisoryStore) -> None:
    # buster-base-rootfs: apt 1.8.2.1 (DSA-4808-1 fixes CVE-2020-27350 in 1.8.2.2),
    # dpkg 1.19.7 (DSA-5147-1 fixes CVE-2022-1664 in 1.19.8), libbz2-1.0 from bzip2
    # 1.0.6-9.2~deb10u1 (DLA-3112-1, no CVE id, fixed in 1.0.6-9.2~deb10u2).
    result = match_vulnerabilities(real_image("buster-base-rootfs"), debian_store, today=TODAY)
    rows = found(result)
    assert ("apt", "apt,libapt-pkg5.0", "1.8.2.1", "CVE-2020-27350", "1.8.2.2") in rows
    assert ("dpkg", "dpkg", "1.19.7", "CVE-2022-1664", "1.19.8") in rows
    assert ("bzip2", "libbz2-1.0", "1.0.6-9.2~deb10u1", "DLA-3112-1", "1.0.6-9.2~deb10u2") in rows


def test_buster_fix_equal_to_installed(debian_store: AdvisoryStore) -> None:
    # DSA-4685-1 fixes CVE-2020-3810 in apt 1.8.2.1, the installed version.
    result = match_vulnerabilities(real_image("buster-base-rootfs"), debian_store, today=TODAY)
    assert decision_of(result, "CVE-2020-3810", "apt") == (
        Verdict.FIXED,
        "fix-installed",
        "DSA-4685-1",
    )


def test_bullseye_binary_of_other_source(debian_store: AdvisoryStore) -> None:
    # bullseye-postgres: libgnutls30 3.7.1-5+deb11u2 is built from gnutls28, which
    # DSA-5349-1 fixes for CVE-2023-0361 in 3.7.1-5+deb11u3.
    result = match_vulnerabilities(real_image("bullseye-postgres"), debian_store, today=TODAY)
    rows = found(result)
    assert (
        "gnutls28",
        "libgnutls30",
        "3.7.1-5+deb11u2",
        "CVE-2023-0361",
        "3.7.1-5+deb11u3",
    ) in rows
    assert decision_of(result, "CVE-2023-0361", "gnutls28")[2] == "DSA-5349-1"


def test_stretch_findings_and_eol_note(debian_store: AdvisoryStore) -> None:
    # stretch-nginx-proxy: apt 1.4.9; DLA-2487-1 fixes CVE-2020-27350 in 1.4.11.
    result = match_vulnerabilities(real_image("stretch-nginx-proxy"), debian_store, today=TODAY)
    assert ("apt", "apt,libapt-pkg5.0", "1.4.9", "CVE-2020-27350", "1.4.11") in found(result)
    assert len(result.notes) == 1
    assert "2022-06-30" in result.notes[0]


def test_bookworm_not_in_lists(debian_store: AdvisoryStore) -> None:
    # The lists end in April 2023, before bookworm's release: no bookworm records.
    result = match_vulnerabilities(real_image("bookworm-laravel"), debian_store, today=TODAY)
    assert result.findings == ()
    assert len(result.notes) == 1
    assert "bookworm" in result.notes[0]


@pytest.mark.parametrize("image", ["ubuntu2204-lowerdir", "ubuntu2004-owncloud"])
def test_ubuntu_gets_nothing_from_debian(debian_store: AdvisoryStore, image: str) -> None:
    result = match_vulnerabilities(real_image(image), debian_store, today=TODAY)
    assert result.findings == ()
    assert result.decisions == ()
    assert len(result.notes) == 1
