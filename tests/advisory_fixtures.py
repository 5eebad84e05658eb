"""Advisories in memory for matching tests, and the matched findings of the bookworm-mixed asset.

``MemorySource`` filters as the advisory store does, by distribution,
release and package. ``match_bookworm_mixed`` matches four real Debian
security tracker verdicts against ``tests/assets/scan/bookworm-mixed``:
CVE-2024-0727 twice (openssl 3.0.11 for libssl3 and openssl, and openssl
1.1.1n for libssl1.1), CVE-2023-4154 once (samba), CVE-2024-2961 once (glibc,
no fix) and CVE-2023-5678 once (openssl 3.0.11, medium).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.scan.match import MatchResult, match_vulnerabilities

BOOKWORM_MIXED = Path(__file__).resolve().parent / "assets" / "scan" / "bookworm-mixed"
#: A day on which bookworm is still under security support.
MATCH_DAY = date(2025, 1, 1)


class MemorySource:
    """An advisory source over a list, filtering as the advisory store does."""

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self.advisories = list(advisories)

    def advisories_for(
        self, distro: str, release: str | None, package_names: Iterable[str]
    ) -> list[Advisory]:
        names = set(package_names)
        return [
            a
            for a in self.advisories
            if a.distro == distro and a.package in names and release in (None, a.release)
        ]

    def releases(self, distro: str) -> set[str]:
        return {a.release for a in self.advisories if a.distro == distro}


def tracker_record(cve: str, package: str, fixed: str | None, urgency: str) -> Advisory:
    """Return a Debian security tracker advisory for bookworm: fixed when ``fixed`` is set."""
    return Advisory(
        source="debian-tracker",
        vulnerability_id=cve,
        distro="debian",
        release="bookworm",
        package=package,
        status=AdvisoryStatus.FIXED if fixed else AdvisoryStatus.OPEN,
        fixed_version=fixed,
        urgency=urgency,
        record=cve,
    )


def bookworm_mixed_inventory() -> Inventory:
    """Read the package inventory of the bookworm-mixed asset."""
    return read_inventory(HostDirView(BOOKWORM_MIXED, str(BOOKWORM_MIXED)))


def match_bookworm_mixed(inventory: Inventory) -> MatchResult:
    """Match the four tracker verdicts against ``inventory`` on :data:`MATCH_DAY`."""
    source = MemorySource(
        [
            tracker_record("CVE-2024-0727", "openssl", "3.0.13-1~deb12u1", "low"),
            tracker_record("CVE-2023-4154", "samba", "2:4.17.12+dfsg-0+deb12u2", "high"),
            tracker_record("CVE-2024-2961", "glibc", None, "high"),
            tracker_record("CVE-2023-5678", "bash", "5.2.15-3", "medium"),
        ]
    )
    return match_vulnerabilities(inventory, source, today=MATCH_DAY)
