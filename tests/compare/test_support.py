"""Release dates from distro-info-data and from the Alpine table shipped with hardbase."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_readers import distro_info_row

from hardbase.compare.model import SupportFacts
from hardbase.compare.support import DISTRO_INFO_DIR, release_support, support_status
from hardbase.packages import Distro

BOOKWORM = Distro("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)")
TRIXIE = Distro("debian", "13", "trixie", "Debian GNU/Linux 13 (trixie)")


@pytest.fixture
def debian_csv() -> Path:
    path = DISTRO_INFO_DIR / "debian.csv"
    if not path.is_file():
        pytest.skip("distro-info-data is not installed (apt-get install distro-info-data)")
    return path


@pytest.mark.parametrize("distro", [BOOKWORM, TRIXIE], ids=["bookworm", "trixie"])
def test_debian_dates_match_csv(distro: Distro, debian_csv: Path) -> None:
    row = distro_info_row(debian_csv, distro.codename or "")
    facts = release_support(distro)
    assert facts.known
    assert facts.released == row["release"]
    assert facts.end_of_support == row["eol"]
    assert facts.end_of_lts == (row["eol-lts"] or None)
    assert facts.release_name == f"Debian {row['version']} ({distro.codename})"


def test_ubuntu_dates_match_csv() -> None:
    path = DISTRO_INFO_DIR / "ubuntu.csv"
    if not path.is_file():
        pytest.skip("distro-info-data is not installed")
    row = distro_info_row(path, "jammy")
    facts = release_support(Distro("ubuntu", "22.04", "jammy", "Ubuntu 22.04", ("debian",)))
    assert facts.released == row["release"]
    assert facts.end_of_support == row["eol"]


def test_alpine_branch_from_table() -> None:
    facts = release_support(Distro("alpine", "3.20.3", None, "Alpine Linux v3.20"))
    assert facts.release_name == "Alpine 3.20"
    assert facts.released == "2024-05-22"
    assert facts.end_of_support == "2026-04-01"
    assert "alpinelinux.org/releases" in facts.source


def test_alpine_unknown_branch() -> None:
    facts = release_support(Distro("alpine", "9.9.0"))
    assert not facts.known
    assert "'9.9'" in facts.message


def test_missing_distro_info(tmp_path: Path) -> None:
    facts = release_support(BOOKWORM, tmp_path)
    assert not facts.known
    assert "apt-get install distro-info-data" in facts.message


def test_unknown_codename(tmp_path: Path) -> None:
    (tmp_path / "debian.csv").write_text(
        "version,codename,series,created,release,eol\n12,Bookworm,bookworm,2021-08-14,2023-06-10\n"
    )
    facts = release_support(Distro("debian", "99", "nosuch"), tmp_path)
    assert not facts.known
    assert "'nosuch'" in facts.message


@pytest.mark.parametrize(
    ("today", "status"),
    [("2026-01-01", "supported"), ("2027-01-01", "LTS only"), ("2029-01-01", "ended")],
)
def test_support_status(today: str, status: str) -> None:
    facts = SupportFacts(True, "Debian 12", "2023-06-10", "2026-07-11", "2028-06-30")
    assert support_status(facts, today) == status
