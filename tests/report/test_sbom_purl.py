"""Package URLs of real packages, in the form syft writes them."""

from __future__ import annotations

from conftest import shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.packages.model import Distro, Package
from hardbase.packages.purl import distro_qualifier, package_url


def real_inventory(folder: str) -> Inventory:
    root = shared_data("real-images", folder)
    return read_inventory(HostDirView(root, folder), files=False)


def purl_of(inventory: Inventory, name: str) -> str:
    package = next(p for p in inventory.packages if p.name == name)
    return package_url(package, inventory.distro).to_string()


def test_debian_purl_without_upstream() -> None:
    inventory = real_inventory("bookworm-laravel")

    assert purl_of(inventory, "apt") == "pkg:deb/debian/apt@2.6.1?arch=amd64&distro=debian-12"


def test_binnmu_upstream_has_version() -> None:
    inventory = real_inventory("bookworm-laravel")

    assert purl_of(inventory, "bash") == (
        "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"
    )


def test_source_name_upstream_only() -> None:
    inventory = real_inventory("bookworm-laravel")

    libc6 = next(p for p in inventory.packages if p.name == "libc6")

    assert purl_of(inventory, "libc6") == (
        f"pkg:deb/debian/libc6@{libc6.version.replace('+', '%2B')}"
        "?arch=amd64&distro=debian-12&upstream=glibc"
    )


def test_ubuntu_namespace_and_distro() -> None:
    inventory = real_inventory("ubuntu2204-lowerdir")

    purl = purl_of(inventory, "bash")

    assert purl.startswith("pkg:deb/ubuntu/bash@")
    assert "distro=ubuntu-22.04" in purl


def test_alpine_purl() -> None:
    inventory = real_inventory("alpine310-mbl-armv7")

    assert purl_of(inventory, "busybox") == (
        "pkg:apk/alpine/busybox@1.30.1-r2?arch=armv7&distro=alpine-3.10.2"
    )


def test_alpine_origin_upstream() -> None:
    inventory = real_inventory("alpine321-php")

    purl = purl_of(inventory, "musl-utils")

    assert purl.endswith("&distro=alpine-3.21.0&upstream=musl")


def test_purl_without_distro_defaults() -> None:
    package = Package(name="zlib", version="1.3-r0", ecosystem="apk", architecture="x86_64")

    assert package_url(package, None).to_string() == "pkg:apk/alpine/zlib@1.3-r0?arch=x86_64"


def test_distro_qualifier_codename_fallback() -> None:
    assert distro_qualifier(Distro(id="debian", codename="trixie")) == "debian-trixie"
    assert distro_qualifier(Distro(id="debian", version_id="12")) == "debian-12"
    assert distro_qualifier(None) is None
