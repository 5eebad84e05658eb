"""Two Debian releases side by side: bookworm and trixie minbase, both built by mmdebstrap."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_fixtures import trixie_tar  # noqa: F401 - fixture
from compare_readers import distro_info_row, dpkg_installed, read_members

from hardbase.compare import CompareOptions, compare_images
from hardbase.compare.model import Comparison
from hardbase.compare.support import DISTRO_INFO_DIR

pytestmark = [pytest.mark.slow, pytest.mark.network]

STATUS = "/var/lib/dpkg/status"


@pytest.fixture(scope="module")
def comparison(
    bookworm_tar: Path,
    trixie_tar: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Comparison:
    options = CompareOptions(
        store=tmp_path_factory.mktemp("store") / "none.db",
        pending_updates=False,
        signed_index=False,
    )
    return compare_images([f"tar:{bookworm_tar}", f"tar:{trixie_tar}"], options)


@pytest.fixture(scope="module")
def installed(bookworm_tar: Path, trixie_tar: Path) -> tuple[dict[str, str], dict[str, str]]:  # noqa: F811
    bookworm = read_members(bookworm_tar, keep=(STATUS,))[STATUS].content or b""
    trixie = read_members(trixie_tar, keep=(STATUS,))[STATUS].content or b""
    return dpkg_installed(bookworm), dpkg_installed(trixie)


def test_packages_only_here_by_name(comparison: Comparison, installed) -> None:
    bookworm, trixie = installed
    only = comparison.row("packages-only-here").data["only"]
    assert only["debian-12"] == sorted(set(bookworm) - set(trixie))
    assert only["debian-13"] == sorted(set(trixie) - set(bookworm))
    assert comparison.row("packages-only-here").verdict.startswith("names listed")


def test_glibc_versions_differ(comparison: Comparison, installed) -> None:
    bookworm, trixie = installed
    assert comparison.row("libc").values == (
        f"glibc {bookworm['libc6'].split('-')[0]}",
        f"glibc {trixie['libc6'].split('-')[0]}",
    )
    assert comparison.row("libc").verdict == "all use glibc"


def test_trixie_supported_longer(comparison: Comparison) -> None:
    csv_path = DISTRO_INFO_DIR / "debian.csv"
    if not csv_path.is_file():
        pytest.skip("distro-info-data is not installed")
    trixie = distro_info_row(csv_path, "trixie")
    row = comparison.row("support")
    assert row.best == (1,)
    assert row.verdict == f"debian-13 is supported longest, until {trixie['eol-lts']}"


def test_archive_checks_turned_off(comparison: Comparison) -> None:
    assert comparison.row("pending-updates").values == ("not checked (turned off)",) * 2
    assert comparison.row("provenance-index").values == ("not checked (turned off)",) * 2
