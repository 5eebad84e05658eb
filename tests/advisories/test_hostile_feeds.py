"""Hostile feeds and store paths given to `hardbase db import`: one clear error, or skipped.

A failed import must leave no store behind, so every test that expects an
error also checks that the store file was not written.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import struct
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from hardbase.advisories.sources import FeedError
from hardbase.advisories.store import StoreError
from hardbase.advisories.update import import_files

#: Nesting depth far past the JSON parser's recursion limit.
DEEP = 100_000
#: Time after which a call that reads a FIFO or a device counts as blocked forever.
HANG_GUARD_SECONDS = 60

T = TypeVar("T")


def _without_hanging(call: Callable[[], T]) -> T:
    """Run ``call`` in a daemon thread and fail, instead of hanging, if it never returns."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # re-raised in the test's thread
            failure.append(error)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(HANG_GUARD_SECONDS)
    assert not worker.is_alive(), f"still blocked after {HANG_GUARD_SECONDS} s"
    if failure:
        raise failure[0]
    return outcome[0]


def _import_fails(feed: Path, store: Path, match: str) -> None:
    with pytest.raises(FeedError, match=match):
        import_files([feed], store)
    assert not store.exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tracker.json", '{"pkg": {"CVE-2024-1": ' + "[" * DEEP + "]" * DEEP + "}}"),
        ("secdb.json", '{"distroversion": "v3.20", "packages": ' + "[" * DEEP + "]" * DEEP + "}"),
        ("head.json", "{" + "[" * DEEP + "]" * DEEP + "}"),
    ],
)
def test_deeply_nested_json_rejected(name: str, text: str, tmp_path: Path) -> None:
    feed = tmp_path / name
    feed.write_text(text)

    with pytest.raises(FeedError, match=str(feed)):
        import_files([feed], tmp_path / "advisories.db")
    assert not (tmp_path / "advisories.db").exists()


def test_deeply_nested_osv_record_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "deep.json").write_text('{"id": "X", "affected": ' + "[" * DEEP + "]" * DEEP + "}")

    _import_fails(folder, tmp_path / "advisories.db", "nests arrays or objects too deep")


def test_secdb_yaml_alias_bomb_rejected(tmp_path: Path) -> None:
    # Nine levels of nine aliases stand for 9**9 strings in a 400-byte file.
    lines = ["distroversion: v3.20", "reponame: main", 'a0: &a0 ["lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("packages: [*a9]")
    feed = tmp_path / "main.yaml"
    feed.write_text("\n".join(lines) + "\n")

    _import_fails(feed, tmp_path / "advisories.db", "aliases")


def test_secdb_yaml_python_tag_builds_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    feed = tmp_path / "main.yaml"
    feed.write_text(
        f"distroversion: v3.20\npackages: !!python/object/apply:os.system ['touch {marker}']\n"
    )

    # BaseLoader reads the tagged list as plain strings, which are skipped entries.
    [result] = import_files([feed], tmp_path / "advisories.db")

    assert not marker.exists()
    assert result.records == 0
    assert len(result.skipped) == 1


def _zip_with_flags(path: Path, *, method: int | None = None, flags: int | None = None) -> None:
    """Write a one-record OSV zip, then patch its method or flag bits in both headers."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("CVE-2024-1.json", '{"id": "CVE-2024-1", "affected": []}')
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    if flags is not None:
        data[6:8] = struct.pack("<H", flags)
        data[central + 8 : central + 10] = struct.pack("<H", flags)
    if method is not None:
        data[8:10] = struct.pack("<H", method)
        data[central + 10 : central + 12] = struct.pack("<H", method)
    path.write_bytes(bytes(data))


def test_osv_zip_unknown_method_rejected(tmp_path: Path) -> None:
    feed = tmp_path / "all.zip"
    _zip_with_flags(feed, method=99)

    _import_fails(feed, tmp_path / "advisories.db", "unreadable OSV zip")


def test_osv_zip_encrypted_member_rejected(tmp_path: Path) -> None:
    feed = tmp_path / "all.zip"
    _zip_with_flags(feed, flags=0x1)

    _import_fails(feed, tmp_path / "advisories.db", "unreadable OSV zip")


def test_osv_zip_climbing_names_only_read(tmp_path: Path) -> None:
    feed = tmp_path / "all.zip"
    with zipfile.ZipFile(feed, "w") as archive:
        archive.writestr("../../escaped.json", '{"id": "CVE-2024-1", "affected": []}')

    [result] = import_files([feed], tmp_path / "store" / "advisories.db")

    assert result.records == 0
    assert not (tmp_path.parent / "escaped.json").exists()
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [
        "advisories.db",
        "advisories.db.lock",
    ]


def _osv_folder_with(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "CVE-2024-1.json").write_text('{"id": "CVE-2024-1", "affected": []}')
    if name == "fifo":
        os.mkfifo(folder / "blocks.json")
    else:
        (folder / "zero.json").symlink_to("/dev/zero")
    return folder


@pytest.mark.parametrize("name", ["fifo", "device link"])
def test_osv_folder_special_files_skipped(name: str, tmp_path: Path) -> None:
    # Reading either one never returns: a FIFO with no writer blocks, /dev/zero never ends.
    folder = _osv_folder_with(tmp_path, name)

    [result] = _without_hanging(lambda: import_files([folder], tmp_path / "advisories.db"))

    assert result.records == 0
    assert result.name == "osv/osv"


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_feed_file_rejected(special: str, tmp_path: Path) -> None:
    feed = Path(special)
    if special == "fifo":
        feed = tmp_path / "feed.json"
        os.mkfifo(feed)

    with pytest.raises(FeedError, match="not a regular file"):
        _without_hanging(lambda: import_files([feed], tmp_path / "advisories.db"))
    assert not (tmp_path / "advisories.db").exists()


def _secdb(tmp_path: Path) -> Path:
    feed = tmp_path / "main.json"
    feed.write_text('{"distroversion": "v3.20", "reponame": "main", "packages": []}')
    return feed


def test_store_that_is_folder_rejected(tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    store.mkdir()

    with pytest.raises(StoreError, match="is a folder"):
        import_files([_secdb(tmp_path)], store)
    assert store.is_dir()
    assert list(store.iterdir()) == []


def test_store_fifo_not_replaced(tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    os.mkfifo(store)

    with pytest.raises(StoreError, match="not a regular file"):
        import_files([_secdb(tmp_path)], store)
    assert stat.S_ISFIFO(store.lstat().st_mode)


def test_store_below_file_rejected(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("x")

    with pytest.raises(StoreError, match="cannot create folder"):
        import_files([_secdb(tmp_path)], tmp_path / "notes" / "advisories.db")


def test_store_foreign_file_kept(tmp_path: Path) -> None:
    store = tmp_path / "notes.txt"
    store.write_text("my notes\n")

    with pytest.raises(StoreError, match="not a hardbase advisory store"):
        import_files([_secdb(tmp_path)], store)
    assert store.read_text() == "my notes\n"


def test_store_foreign_sqlite_kept(tmp_path: Path) -> None:
    store = tmp_path / "other.db"
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    before = store.read_bytes()

    with pytest.raises(StoreError, match="not a hardbase advisory store"):
        import_files([_secdb(tmp_path)], store)
    assert store.read_bytes() == before


def test_store_empty_file_becomes_store(tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    store.touch()

    [result] = import_files([_secdb(tmp_path)], store)

    assert result.name == "alpine-secdb/v3.20/main"
    assert store.stat().st_size > 0


#: An integer longer than int()'s default limit of 4300 digits.
HUGE_INTEGER = "1" * 5000


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tracker.json", '{"pkg": {"CVE-2024-1": {"releases": {"bookworm": NUMBER}}}}'),
        ("secdb.json", '{"distroversion": "v3.20", "packages": [NUMBER]}'),
        ("head.json", '{"x": NUMBER}'),
    ],
)
def test_huge_json_integer_rejected(name: str, text: str, tmp_path: Path) -> None:
    feed = tmp_path / name
    feed.write_text(text.replace("NUMBER", HUGE_INTEGER))

    with pytest.raises(FeedError, match=str(feed)) as caught:
        import_files([feed], tmp_path / "advisories.db")
    assert "set_int_max_str_digits" not in str(caught.value)
    assert not (tmp_path / "advisories.db").exists()


def test_huge_integer_osv_record_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "big.json").write_text('{"id": "X", "affected": [' + HUGE_INTEGER + "]}")

    _import_fails(folder, tmp_path / "advisories.db", "Exceeds the limit")


def test_huge_dsa_list_rejected(tmp_path: Path) -> None:
    # A sparse file: the header makes it a DSA list, the 2 GiB of zeros take no disk.
    feed = tmp_path / "list"
    feed.write_text("[29 Mar 2023] DSA-5380-1 xorg-server - security update\n")
    with feed.open("r+b") as handle:
        handle.truncate(2 * 1024**3)

    _import_fails(feed, tmp_path / "advisories.db", "too large for a debian-dsa list")
