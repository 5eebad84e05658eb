"""Detection of a feed's format by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_data
from hardbase.advisories.sources import FeedError, FeedKind, detect

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("tracker.sample.json", FeedKind.DEBIAN_TRACKER),
        ("alpine-v3.20-main.json", FeedKind.ALPINE_SECDB),
        ("osv.sample.zip", FeedKind.OSV),
        ("osv-folder", FeedKind.OSV),
        ("osv-folder/DSA-5380-1.json", FeedKind.OSV),
    ],
)
def test_detect_assets(name: str, kind: FeedKind) -> None:
    assert detect(ASSETS / name) is kind


def test_detect_dsa_and_dla_lists() -> None:
    assert detect(shared_data("debian", "DSA-list")) is FeedKind.DEBIAN_DSA
    assert detect(shared_data("debian", "DLA-list")) is FeedKind.DEBIAN_DLA


def test_detect_yaml_secdb() -> None:
    assert detect(shared_data("alpine", "secdb", "v3.5", "main.yaml")) is FeedKind.ALPINE_SECDB


def test_detect_ignores_file_name(tmp_path: Path) -> None:
    renamed = tmp_path / "feed.yaml"
    renamed.write_bytes((ASSETS / "tracker.sample.json").read_bytes())

    assert detect(renamed) is FeedKind.DEBIAN_TRACKER


@pytest.mark.parametrize("content", ["hello\n", "[1, 2]", '{"a": 1}', ""])
def test_detect_unknown_content_names_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "mystery.json"
    path.write_text(content)

    with pytest.raises(FeedError, match=r"mystery.json: unknown feed format"):
        detect(path)


def test_detect_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not found"):
        detect(tmp_path / "absent.json")
