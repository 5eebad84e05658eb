"""The advisory store: lookups, status, schema version and the writer lock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hardbase.advisories.model import AdvisoryStatus
from hardbase.advisories.store import (
    AdvisoryStore,
    StoreError,
    StoreLockedError,
    StoreWriter,
    default_store_path,
)
from hardbase.advisories.update import import_files

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "advisories.db"
    import_files(
        [ASSETS / "tracker.sample.json", ASSETS / "alpine-v3.20-main.json", ASSETS / "osv-folder"],
        path,
    )
    return path


def test_advisories_for_release(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        found = store.advisories_for("debian", "bookworm", ["glibc", "zlib"])

    assert {(a.package, a.vulnerability_id) for a in found} == {
        ("glibc", "CVE-2019-1010022"),
        ("glibc", "CVE-2023-4911"),
        ("zlib", "CVE-2023-45853"),
    }


def test_advisories_for_keeps_fields(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        (zlib,) = store.advisories_for("debian", "bookworm", ["zlib"])

    assert zlib.status is AdvisoryStatus.OPEN
    assert zlib.nodsa_reason == "ignored"
    assert zlib.source == "debian-tracker"
    assert zlib.description.startswith("MiniZip")


def test_advisories_for_all_releases(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        found = store.advisories_for("debian", None, ["glibc"])

    assert {a.release for a in found} == {"bookworm", "bullseye", "sid"}


def test_advisories_for_aliases_roundtrip(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        found = store.advisories_for("alpine", "3.20", ["xen"])

    assert [a.aliases for a in found if a.vulnerability_id == "CVE-2023-46842"] == [("XSA-454",)]


def test_releases(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        assert store.releases("alpine") == {"3.19", "3.20"}
        assert store.releases("ubuntu") == {"jammy", "bionic"}


def test_sources_and_age(store_path: Path) -> None:
    with AdvisoryStore.open(store_path) as store:
        sources = {s.name: s for s in store.sources()}
        age = store.age()

    assert set(sources) == {"debian-tracker", "alpine-secdb/v3.20/main", "osv/osv-folder"}
    assert sources["debian-tracker"].records == 17
    assert sources["alpine-secdb/v3.20/main"].skipped == 1
    assert len(sources["debian-tracker"].sha256) == 64
    assert age is not None
    assert timedelta(0) <= age < timedelta(minutes=5)


def test_age_follows_oldest_source(store_path: Path) -> None:
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    with sqlite3.connect(store_path) as connection:
        connection.execute(
            "UPDATE sources SET fetched_at = ? WHERE name = 'osv/osv-folder'", (old,)
        )

    with AdvisoryStore.open(store_path) as store:
        age = store.age()

    assert age is not None
    assert age > timedelta(days=2)


def test_open_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"not found.*db update"):
        AdvisoryStore.open(tmp_path / "absent.db")


def test_open_other_schema_version(store_path: Path) -> None:
    with sqlite3.connect(store_path) as connection:
        connection.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")

    with pytest.raises(StoreError, match=r"schema version 999.*db update"):
        AdvisoryStore.open(store_path)


def test_open_non_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "advisories.db"
    path.write_text("not a database")

    with pytest.raises(StoreError, match="not a hardbase advisory store"):
        AdvisoryStore.open(path)


def test_write_replaces_other_schema_version(store_path: Path) -> None:
    with sqlite3.connect(store_path) as connection:
        connection.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")

    import_files([ASSETS / "tracker.sample.json"], store_path)

    with AdvisoryStore.open(store_path) as store:
        assert [s.name for s in store.sources()] == ["debian-tracker"]


def test_second_writer_is_rejected(store_path: Path) -> None:
    with StoreWriter(store_path), pytest.raises(StoreLockedError, match="another process"):
        import_files([ASSETS / "tracker.sample.json"], store_path)


def test_reimport_replaces_source_records(store_path: Path) -> None:
    import_files([ASSETS / "tracker.sample.json"], store_path)

    with AdvisoryStore.open(store_path) as store:
        assert store.count() == 17 + 12 + 5


def test_default_store_path_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARDBASE_STORE", str(tmp_path / "x.db"))

    assert default_store_path() == tmp_path / "x.db"


def test_failed_import_keeps_store(store_path: Path) -> None:
    before = store_path.read_bytes()

    with pytest.raises(Exception, match=r"tracker.truncated.json"):
        import_files([ASSETS / "tracker.truncated.json"], store_path)

    assert store_path.read_bytes() == before
    assert list(store_path.parent.glob(".advisories-partial-*")) == []
