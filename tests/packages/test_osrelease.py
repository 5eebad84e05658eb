"""os-release reading on real images, including a link flattened to text."""

from __future__ import annotations

import pytest

from conftest import shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages.model import Distro
from hardbase.packages.osrelease import read_distro


def real_distro(folder: str) -> Distro | None:
    return read_distro(HostDirView(shared_data("real-images", folder), folder))


def test_flattened_link_followed() -> None:
    root = shared_data("real-images", "buster-base-rootfs")
    assert (root / "etc" / "os-release").read_text().strip() == "../usr/lib/os-release"

    distro = real_distro("buster-base-rootfs")

    assert distro is not None
    assert distro.id == "debian"
    assert distro.version_id == "10"
    assert distro.codename == "buster"
    assert distro.release == "buster"


@pytest.mark.parametrize(
    ("folder", "distro_id", "version_id", "release"),
    [
        ("stretch-nginx-proxy", "debian", "9", "stretch"),
        ("bookworm-laravel", "debian", "12", "bookworm"),
        ("ubuntu1604-held", "ubuntu", "16.04", "xenial"),
        ("ubuntu2204-lowerdir", "ubuntu", "22.04", "jammy"),
        ("alpine37-julia", "alpine", "3.7.0", "3.7"),
        ("alpine310-mbl-armv7", "alpine", "3.10.2", "3.10"),
        ("alpine321-php", "alpine", "3.21.0", "3.21"),
    ],
)
def test_real_distros(folder: str, distro_id: str, version_id: str, release: str) -> None:
    distro = real_distro(folder)

    assert distro is not None
    assert distro.id == distro_id
    assert distro.version_id == version_id
    assert distro.release == release
