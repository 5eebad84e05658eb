"""The dpkg catalog on real status files, distroless status.d/ and a real bookworm root."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import REPO, shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.packages.dpkg import STATUS_D, iter_stanzas, parse_status, relation_names

DISTROLESS = REPO / "tests" / "assets" / "packages" / "distroless"

#: Stanzas and installed packages of each real image's status file (dpkg-query shows the same).
DPKG_COUNTS = [
    ("buster-drupal", 195, 195),
    ("buster-base-rootfs", 84, 84),
    ("bullseye-postgres", 146, 146),
    ("bullseye-container", 234, 234),
    ("bookworm-laravel", 197, 197),
    ("bookworm-langflow-backend", 140, 140),
    ("stretch-nginx-proxy", 109, 109),
    ("ubuntu2004-owncloud", 317, 317),
    ("ubuntu2204-lowerdir", 117, 117),
    ("ubuntu2404-vet", 201, 201),
    ("ubuntu1604-held", 164, 162),
]


def real_inventory(folder: str, *, files: bool = True) -> Inventory:
    root = shared_data("real-images", folder)
    return read_inventory(HostDirView(root, folder), files=files)


@pytest.mark.parametrize(("folder", "records", "installed"), DPKG_COUNTS)
def test_real_status_counts(folder: str, records: int, installed: int) -> None:
    inventory = real_inventory(folder)

    assert len(inventory.packages) == records
    assert len(inventory.installed) == installed
    assert len(inventory.present) == installed
    assert inventory.warnings == ()
    assert inventory.databases == ("/var/lib/dpkg/status",)


def test_held_packages_stay_installed() -> None:
    inventory = real_inventory("ubuntu1604-held")

    held = {p.name: p for p in inventory.packages if p.selection == "hold"}

    assert sorted(held) == ["adduser", "apt", "gnupg", "libsemanage1", "passwd"]
    for package in held.values():
        assert package.state == "installed", package.name
        assert package.is_installed, package.name
        assert package.extra["Status"] == "hold ok installed", package.name


def test_config_files_packages_not_installed() -> None:
    inventory = real_inventory("ubuntu1604-held")

    leftovers = {p.name: p for p in inventory.packages if p.state == "config-files"}

    assert sorted(leftovers) == ["dbus", "libmpc3"]
    for package in leftovers.values():
        assert package.selection == "deinstall", package.name
        assert package.version, package.name
        assert not package.is_installed, package.name
        assert not package.files_present, package.name
        assert package not in inventory.installed
        assert package not in inventory.present


def test_binnmu_source_version_differs() -> None:
    inventory = real_inventory("bookworm-laravel")

    bash = next(p for p in inventory.packages if p.name == "bash")

    assert bash.version == "5.2.15-2+b7"
    assert bash.source_name == "bash"
    assert bash.source_version == "5.2.15-2"


def test_source_without_version_uses_own() -> None:
    inventory = real_inventory("buster-base-rootfs")

    libgcc = next(p for p in inventory.packages if p.name == "libgcc1")
    bsdutils = next(p for p in inventory.packages if p.name == "bsdutils")

    assert (libgcc.source_name, libgcc.source_version) == ("gcc-8", "8.3.0-6")
    assert libgcc.version == "1:8.3.0-6"
    assert (bsdutils.source_name, bsdutils.source_version) == ("util-linux", "2.33.1-0.1")


def test_provides_and_depends_names() -> None:
    inventory = real_inventory("bookworm-laravel")

    apt = next(p for p in inventory.packages if p.name == "apt")

    assert "apt-transport-https" in apt.provides
    assert "libc6" in apt.depends
    assert "gpgv" in apt.depends
    assert not any("(" in name or " " in name for name in apt.depends)


def test_distroless_status_d_packages() -> None:
    inventory = read_inventory(HostDirView(DISTROLESS, "distroless"))

    by_name = {p.name: p for p in inventory.packages}

    assert sorted(by_name) == ["busybox", "libssl3"]
    assert inventory.installed == inventory.packages
    assert by_name["libssl3"].version == "3.0.22-1~deb12u1"
    assert by_name["libssl3"].source_name == "openssl"
    assert by_name["libssl3"].database == f"{STATUS_D}/libssl3"
    assert by_name["libssl3"].selection is None


def test_distroless_binnmu_source_version() -> None:
    inventory = read_inventory(HostDirView(DISTROLESS, "distroless"))

    busybox = next(p for p in inventory.packages if p.name == "busybox")

    assert busybox.version == "1:1.35.0-4+deb12u1+b1"
    assert busybox.source_version == "1:1.35.0-4+deb12u1"


def test_distroless_files_from_md5sums() -> None:
    inventory = read_inventory(HostDirView(DISTROLESS, "distroless"))

    busybox = next(p for p in inventory.packages if p.name == "busybox")

    assert "/bin/busybox" in busybox.files
    assert len(busybox.files) == 9


def test_distroless_corrupt_stanza_warns() -> None:
    inventory = read_inventory(HostDirView(DISTROLESS, "distroless"))

    assert inventory.warnings == (
        f"{STATUS_D}/corrupt: stanza 1 has no Package or Version field, skipped",
    )
    assert f"{STATUS_D}/corrupt" in inventory.databases
    assert f"{STATUS_D}/busybox.md5sums" not in inventory.databases


@pytest.mark.parametrize(
    ("status", "in_status_d", "expected"),
    [
        ("install ok installed", False, ("install", "installed")),
        ("hold ok installed", False, ("hold", "installed")),
        ("deinstall ok config-files", False, ("deinstall", "config-files")),
        ("install reinstreq half-installed", False, ("install", "half-installed")),
        ("install ok half-configured", False, ("install", "half-configured")),
        ("purge ok not-installed", False, ("purge", "not-installed")),
        ("install ok", False, (None, "unknown")),
        ("install ok exploded", False, ("install", "unknown")),
        (None, False, (None, "unknown")),
        (None, True, (None, "installed")),
    ],
)
def test_parse_status_cases(
    status: str | None, in_status_d: bool, expected: tuple[str | None, str]
) -> None:
    assert parse_status(status, in_status_d) == expected


def test_relation_names_drop_constraints() -> None:
    names = relation_names(
        "libc6 (>= 2.34), gpgv | gpgv2, perl:any", "debconf (>= 0.5) | debconf-2.0"
    )

    assert names == ("libc6", "gpgv", "gpgv2", "perl", "debconf", "debconf-2.0")


def _dpkg_query(root: Path) -> list[tuple[str, str, str]]:
    output = subprocess.run(
        [
            "dpkg-query",
            f"--admindir={root}/var/lib/dpkg",
            "-W",
            "-f",
            "${Package}\t${Version}\t${db:Status-Abbrev}\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(line.split("\t")) for line in output.splitlines()]  # type: ignore[misc]


@pytest.mark.slow
def test_bookworm_matches_dpkg_query(bookworm_dir: Path) -> None:
    expected = sorted((n, v) for n, v, abbrev in _dpkg_query(bookworm_dir) if abbrev[1] == "i")

    inventory = read_inventory(HostDirView(bookworm_dir, "bookworm"))

    assert sorted((p.name, p.version) for p in inventory.installed) == expected
    assert len(expected) > 50


@pytest.mark.slow
def test_bookworm_file_lists(bookworm_dir: Path) -> None:
    inventory = read_inventory(HostDirView(bookworm_dir, "bookworm"))

    bash = next(p for p in inventory.packages if p.name == "bash")
    libc6 = next(p for p in inventory.packages if p.name == "libc6")

    assert "/bin/bash" in bash.files
    assert any(path.endswith("/libc.so.6") for path in libc6.files)


@pytest.mark.slow
def test_bookworm_files_skipped_on_request(bookworm_dir: Path) -> None:
    inventory = read_inventory(HostDirView(bookworm_dir, "bookworm"), files=False)

    assert all(p.files == () for p in inventory.packages)
    assert any(p.licenses for p in inventory.packages)


def test_iter_stanzas_deb822_rules() -> None:
    text = (
        "Package: a\nDescription: short\n long line\n .\n"
        "   \n"
        "package: b\nVERSION: 1\nnot a field line\n\n\n"
    )

    stanzas = list(iter_stanzas(text))

    assert stanzas == [
        {"package": "a", "description": "short\nlong line\n."},
        {"package": "b", "version": "1"},
    ]
