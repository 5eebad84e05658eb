"""Hostile feed files given to `hardbase db import`: each fails with one FeedError or is skipped.

A failed import must leave no store behind, so every test that expects an
error also checks that the store file was not written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hardbase.advisories.sources import FeedError
from hardbase.advisories.update import import_files

#: Nesting depth far past the JSON parser's recursion limit.
DEEP = 100_000


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
