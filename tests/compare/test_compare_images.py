"""hardbase compare on real images: Alpine 3.20.3, a bookworm minbase and debian-runtime.

Every figure in the comparison is checked against a value this test reads
from the image files itself (tar members, plain parsing of the package
databases, the OCI layout's JSON), not through hardbase's readers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_fixtures import alpine_tar, runtime_image  # noqa: F401 - fixtures
from compare_readers import (
    apk_installed,
    distro_info_row,
    dpkg_installed,
    read_members,
    read_oci,
    setuid_setgid,
    unpacked_size,
)

from hardbase.compare import CompareOptions, compare_images
from hardbase.compare.collect import NO_STORE
from hardbase.compare.model import Comparison
from hardbase.compare.rows import format_bytes
from hardbase.compare.support import DISTRO_INFO_DIR

pytestmark = [pytest.mark.slow, pytest.mark.network]

ALPINE, BOOKWORM, RUNTIME = 0, 1, 2
APK_DB = "/lib/apk/db/installed"
DPKG_STATUS = "/var/lib/dpkg/status"


@pytest.fixture(scope="module")
def comparison(
    alpine_tar: Path,  # noqa: F811
    bookworm_tar: Path,
    runtime_image,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Comparison:
    missing_store = tmp_path_factory.mktemp("store") / "advisories.db"
    options = CompareOptions(store=missing_store)
    references = [f"tar:{alpine_tar}", f"tar:{bookworm_tar}", runtime_image.reference]
    return compare_images(references, options)


@pytest.fixture(scope="module")
def alpine_members(alpine_tar: Path):  # noqa: F811
    return read_members(alpine_tar, keep=(APK_DB,))


@pytest.fixture(scope="module")
def bookworm_members(bookworm_tar: Path):
    return read_members(bookworm_tar, keep=(DPKG_STATUS,))


@pytest.fixture(scope="module")
def runtime_oci(runtime_image):  # noqa: F811
    return read_oci(Path(runtime_image.layout), keep=(DPKG_STATUS,))


def test_labels_name_each_image(comparison: Comparison) -> None:
    labels = [facts.label for facts in comparison.images]
    assert labels == ["alpine-3.20.3", "debian-12", "debian-runtime"]


def test_every_row_is_present(comparison: Comparison) -> None:
    keys = [row.key for row in comparison.rows]
    assert keys == [
        "size-unpacked",
        "size-stored",
        "layers",
        "packages",
        "packages-only-here",
        "libc",
        "user",
        "setuid",
        "shells",
        "package-managers",
        "privilege-tools",
        "vulnerabilities",
        "pending-updates",
        "support",
        "provenance-index",
        "provenance-files",
    ]
    for row in comparison.rows:
        assert len(row.values) == 3, row.key
        assert row.verdict, row.key


def test_unpacked_sizes_match_members(comparison, alpine_members, bookworm_members, runtime_oci):
    row = comparison.row("size-unpacked")
    expected = [
        unpacked_size(alpine_members),
        unpacked_size(bookworm_members),
        unpacked_size(runtime_oci.members),
    ]
    assert list(row.data["bytes"]) == expected
    assert row.values[ALPINE] == format_bytes(expected[ALPINE])
    assert row.best == (ALPINE,)


def test_unpacked_verdict_names_ratio(comparison, alpine_members, bookworm_members) -> None:
    ratio = unpacked_size(bookworm_members) / unpacked_size(alpine_members)
    verdict = comparison.row("size-unpacked").verdict
    assert verdict == f"alpine-3.20.3 is {ratio:.0f}x smaller than debian-12"


def test_stored_sizes_match_files(comparison, alpine_tar, bookworm_tar, runtime_oci) -> None:  # noqa: F811
    row = comparison.row("size-stored")
    expected = [
        alpine_tar.stat().st_size,
        bookworm_tar.stat().st_size,
        sum(runtime_oci.layer_sizes),
    ]
    assert list(row.data["bytes"]) == expected


def test_stored_cells_say_compression(comparison, runtime_oci) -> None:
    row = comparison.row("size-stored")
    assert row.values[ALPINE].endswith("(gzip tarball file)")
    assert row.values[BOOKWORM].endswith("(tarball file, not compressed)")
    assert all(media.endswith("+gzip") for media in runtime_oci.layer_media_types)
    assert row.values[RUNTIME].endswith("(gzip layer blobs)")
    assert "debian-12 is stored uncompressed" in row.verdict


def test_layer_counts(comparison, runtime_oci) -> None:
    row = comparison.row("layers")
    assert row.values == ("1", "1", str(len(runtime_oci.layer_sizes)))


def test_package_counts_match_databases(
    comparison, alpine_members, bookworm_members, runtime_oci
) -> None:
    alpine = apk_installed(alpine_members[APK_DB].content or b"")
    bookworm = dpkg_installed(bookworm_members[DPKG_STATUS].content or b"")
    runtime = dpkg_installed(runtime_oci.members[DPKG_STATUS].content or b"")
    row = comparison.row("packages")
    assert list(row.data["packages"]) == [len(alpine), len(bookworm), len(runtime)]
    assert row.values[ALPINE] == f"{len(alpine)} apk"
    assert row.best == (RUNTIME,)


def test_packages_only_here_lists_names(comparison, bookworm_members, runtime_oci) -> None:
    bookworm = set(dpkg_installed(bookworm_members[DPKG_STATUS].content or b""))
    runtime = set(dpkg_installed(runtime_oci.members[DPKG_STATUS].content or b""))
    row = comparison.row("packages-only-here")
    assert row.data["only"]["debian-runtime"] == sorted(runtime - bookworm)
    assert row.data["only"]["debian-12"] == sorted(bookworm - runtime)
    expected = sorted(runtime - bookworm)
    assert row.values[RUNTIME] == f"{len(expected)}: {', '.join(expected)}"


def test_packages_only_here_truncates(comparison, bookworm_members, runtime_oci) -> None:
    bookworm = set(dpkg_installed(bookworm_members[DPKG_STATUS].content or b""))
    runtime = set(dpkg_installed(runtime_oci.members[DPKG_STATUS].content or b""))
    only = sorted(bookworm - runtime)
    cell = comparison.row("packages-only-here").values[BOOKWORM]
    assert cell.startswith(f"{len(only)}: {only[0]}, ")
    assert cell.endswith(f"(+{len(only) - 12} more)")


def test_ecosystems_differ_for_alpine(comparison, alpine_members) -> None:
    alpine = apk_installed(alpine_members[APK_DB].content or b"")
    row = comparison.row("packages-only-here")
    assert row.values[ALPINE] == f"{len(alpine)} apk packages; not comparable by name with deb"
    assert row.verdict.startswith("ecosystems differ (apk vs deb)")


def test_libc_versions_match_packages(comparison, alpine_members, bookworm_members) -> None:
    musl = apk_installed(alpine_members[APK_DB].content or b"")["musl"]
    libc6 = dpkg_installed(bookworm_members[DPKG_STATUS].content or b"")["libc6"]
    row = comparison.row("libc")
    assert row.values[ALPINE] == f"musl {musl.split('-r')[0]} (4 caveats)"
    assert row.values[BOOKWORM] == f"glibc {libc6.split('-')[0]}"
    assert row.best == (BOOKWORM, RUNTIME)
    assert any("musllinux" in caveat for caveat in row.data["caveats"])
    assert any("128 KiB" in caveat for caveat in row.data["caveats"])


def test_default_user_from_config(comparison, runtime_oci) -> None:
    user = runtime_oci.config["config"]["User"]  # type: ignore[index]
    row = comparison.row("user")
    assert row.values == ("unset: root", "unset: root", f"{user} (non-root)")
    assert row.best == (RUNTIME,)


def test_setuid_counts_match_modes(
    comparison, alpine_members, bookworm_members, runtime_oci
) -> None:
    row = comparison.row("setuid")
    counts = [
        setuid_setgid(alpine_members),
        setuid_setgid(bookworm_members),
        setuid_setgid(runtime_oci.members),
    ]
    assert list(row.data["setuid"]) == [c[0] for c in counts]
    assert list(row.data["setgid"]) == [c[1] for c in counts]
    assert counts[BOOKWORM][0] > 0


def test_runtime_has_no_shell(comparison, runtime_oci) -> None:
    shells = [
        p for p in runtime_oci.members if p.rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash")
    ]
    row = comparison.row("shells")
    assert shells == []
    assert row.values[RUNTIME] == "none"
    assert row.verdict == "debian-runtime has no shell"


def test_shells_found_where_present(comparison, alpine_members, bookworm_members) -> None:
    row = comparison.row("shells")
    assert "/bin/sh" in alpine_members
    assert "/bin/sh" in row.values[ALPINE]
    assert "/usr/bin/bash" in bookworm_members
    assert "/usr/bin/bash" in row.values[BOOKWORM]


def test_package_managers_present(comparison, alpine_members, bookworm_members) -> None:
    row = comparison.row("package-managers")
    assert "/sbin/apk" in alpine_members
    assert row.values[ALPINE] == "/sbin/apk"
    assert "/usr/bin/dpkg" in bookworm_members
    assert "/usr/bin/dpkg" in row.values[BOOKWORM]
    assert row.values[RUNTIME] == "none"


def test_privilege_tools_present(comparison, bookworm_members) -> None:
    row = comparison.row("privilege-tools")
    assert "/usr/bin/su" in bookworm_members
    assert row.values[BOOKWORM] == "/usr/bin/su"
    assert row.values[RUNTIME] == "none"


def test_vulnerabilities_without_store(comparison: Comparison) -> None:
    row = comparison.row("vulnerabilities")
    assert row.values == (NO_STORE, NO_STORE, NO_STORE)
    assert NO_STORE == "no advisory store: run hardbase db update"


def test_pending_updates_alpine_not_applicable(comparison: Comparison) -> None:
    row = comparison.row("pending-updates")
    assert row.values[ALPINE].startswith("not applicable: Alpine")
    assert row.values[RUNTIME].endswith("security)")


def test_support_dates_from_distro_info(comparison: Comparison) -> None:
    csv_path = DISTRO_INFO_DIR / "debian.csv"
    if not csv_path.is_file():
        pytest.skip("distro-info-data is not installed")
    bookworm = distro_info_row(csv_path, "bookworm")
    row = comparison.row("support")
    assert row.data["released"][BOOKWORM] == bookworm["release"]
    assert row.data["end_of_support"][BOOKWORM] == bookworm["eol"]
    assert row.data["end_of_lts"][BOOKWORM] == bookworm["eol-lts"]


def test_support_dates_for_alpine(comparison: Comparison) -> None:
    row = comparison.row("support")
    assert row.data["released"][ALPINE] == "2024-05-22"
    assert row.data["end_of_support"][ALPINE] == "2026-04-01"
    assert row.values[ALPINE].startswith("Alpine 3.20; released 2024-05-22")


def test_signed_index_lists_debian_versions(comparison, bookworm_members) -> None:
    installed = dpkg_installed(bookworm_members[DPKG_STATUS].content or b"")
    row = comparison.row("provenance-index")
    assert row.data["checked"] == [False, True, True]
    assert row.data["found"][BOOKWORM] + len(row.data["not_found"][BOOKWORM]) == len(installed)
    assert row.values[ALPINE].startswith("not checked: apk repository indexes")


def test_file_checksums_counted(comparison: Comparison) -> None:
    row = comparison.row("provenance-files")
    assert row.data["changed"] == [[], [], []]
    assert row.data["config_changed"][ALPINE] == ["/etc/shadow"]
    assert row.data["missing"][BOOKWORM] == 0
    assert row.data["missing"][RUNTIME] > 0
