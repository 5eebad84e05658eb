"""The apk catalog on real installed databases."""

from __future__ import annotations

import pytest

from conftest import shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.packages.apk import split_licenses

#: Records of each real image's lib/apk/db/installed (grep -c '^P:' gives the same).
APK_COUNTS = [
    ("alpine37-julia", 39),
    ("alpine310-mbl-armv7", 56),
    ("alpine321-php", 47),
]


def real_inventory(folder: str) -> Inventory:
    root = shared_data("real-images", folder)
    return read_inventory(HostDirView(root, folder))


@pytest.mark.parametrize(("folder", "records"), APK_COUNTS)
def test_real_installed_counts(folder: str, records: int) -> None:
    inventory = real_inventory(folder)

    assert len(inventory.packages) == records
    assert len(inventory.installed) == records
    assert inventory.warnings == ()
    assert inventory.databases == ("/lib/apk/db/installed",)


def test_virtual_package_is_listed() -> None:
    inventory = real_inventory("alpine310-mbl-armv7")

    rundeps = next(p for p in inventory.packages if p.name == ".python-rundeps")

    assert rundeps.version == "20190820.225806"
    assert rundeps.architecture == "noarch"
    assert rundeps.source_name == ".python-rundeps"
    assert rundeps.licenses == ()
    assert rundeps.homepage is None
    assert rundeps.maintainer is None
    assert rundeps.installed_size == 0
    assert rundeps.is_installed


def test_virtual_package_depends_on_provides() -> None:
    inventory = real_inventory("alpine310-mbl-armv7")

    rundeps = next(p for p in inventory.packages if p.name == ".python-rundeps")
    providers = {name for p in inventory.packages for name in p.provides}

    assert "so:libc.musl-armv7.so.1" in rundeps.depends
    assert "so:libc.musl-armv7.so.1" in providers
    assert len(rundeps.depends) == 16


def test_armv7_architecture_and_origin() -> None:
    inventory = real_inventory("alpine310-mbl-armv7")

    busybox = next(p for p in inventory.packages if p.name == "busybox")

    assert busybox.architecture == "armv7"
    assert busybox.version == "1.30.1-r2"
    assert busybox.source_name == "busybox"
    assert busybox.provides == ("/bin/sh", "cmd:busybox", "cmd:sh")
    assert "/bin/busybox" in busybox.files


def test_origin_differs_from_name() -> None:
    inventory = real_inventory("alpine321-php")

    by_name = {p.name: p for p in inventory.packages}
    musl_utils = by_name["musl-utils"]

    assert musl_utils.source_name == "musl"
    assert musl_utils.source_version == musl_utils.version


def test_provides_drop_versions() -> None:
    inventory = real_inventory("alpine321-php")

    musl = next(p for p in inventory.packages if p.name == "musl")

    assert "so:libc.musl-x86_64.so.1" in musl.provides
    assert not any("=" in name for name in musl.provides)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MIT", ("MIT",)),
        ("GPL LGPL", ("GPL", "LGPL")),
        ("MPL-2.0 GPL-2.0-or-later", ("MPL-2.0", "GPL-2.0-or-later")),
        ("MIT AND BSD-2-Clause", ("MIT AND BSD-2-Clause",)),
        ("(MIT OR Apache-2.0)", ("(MIT OR Apache-2.0)",)),
        ("", ()),
    ],
)
def test_split_licenses_cases(value: str, expected: tuple[str, ...]) -> None:
    assert split_licenses(value) == expected
