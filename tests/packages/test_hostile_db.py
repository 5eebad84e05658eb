"""Hostile dpkg and apk databases: odd records are read or skipped, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.packages.apk import INSTALLED
from hardbase.packages.dpkg import STATUS

#: Sizes that ``str.isdigit`` accepts but ``int`` rejects, or that are no byte count.
BAD_SIZES = ["1" * 5000, "\u00b2", "-1", "", "12 KB"]


def _root_with(tmp_path: Path, path: str, text: str) -> HostDirView:
    target = tmp_path / path.lstrip("/")
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    return HostDirView(tmp_path, "hostile")


def _only_package(inventory: Inventory) -> int | None:
    [package] = inventory.packages
    assert package.name == "a"
    return package.installed_size


@pytest.mark.parametrize("size", BAD_SIZES)
def test_dpkg_bad_installed_size_ignored(size: str, tmp_path: Path) -> None:
    status = f"Package: a\nStatus: install ok installed\nVersion: 1\nInstalled-Size: {size}\n"
    root = _root_with(tmp_path, STATUS, status)

    assert _only_package(read_inventory(root)) is None


@pytest.mark.parametrize("size", BAD_SIZES)
def test_apk_bad_installed_size_ignored(size: str, tmp_path: Path) -> None:
    root = _root_with(tmp_path, INSTALLED, f"P:a\nV:1.0-r0\nI:{size}\n")

    assert _only_package(read_inventory(root)) is None


def test_dpkg_installed_size_in_kibibytes(tmp_path: Path) -> None:
    status = "Package: a\nStatus: install ok installed\nVersion: 1\nInstalled-Size: 12\n"
    root = _root_with(tmp_path, STATUS, status)

    assert _only_package(read_inventory(root)) == 12 * 1024
