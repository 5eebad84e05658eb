"""Release and end-of-support dates of an image's distribution release.

Debian and Ubuntu dates come from the host's ``distro-info-data`` package
(``/usr/share/distro-info/debian.csv`` and ``ubuntu.csv``), which Debian
updates with each release. Alpine publishes no such file, so its dates come
from ``alpine-releases.csv`` beside this module, which names its source.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from hardbase.compare.model import SupportFacts
from hardbase.packages import Distro

logger = logging.getLogger(__name__)

DISTRO_INFO_DIR = Path("/usr/share/distro-info")
ALPINE_TABLE = "alpine-releases.csv"
ALPINE_SOURCE = "alpinelinux.org/releases (copied into hardbase)"
_MAX_CSV_BYTES = 1024 * 1024


def release_support(distro: Distro | None, distro_info_dir: Path = DISTRO_INFO_DIR) -> SupportFacts:
    """Return the release and end-of-support dates of ``distro``'s release.

    Debian's end of support is its ``eol`` column (regular security support)
    and ``eol-lts`` the end of Debian LTS; the paid ELTS column is not used.
    Ubuntu's is ``eol`` (standard support) and ``eol-server`` where it is later.
    An unknown release or a missing table gives ``known=False`` with the reason.
    """
    if distro is None:
        return SupportFacts(False, "unknown", message="no os-release, so the release is unknown")
    if distro.id in ("debian", "ubuntu"):
        return _distro_info(distro, distro_info_dir)
    if distro.family == "alpine":
        return _alpine(distro)
    name = distro.pretty_name or distro.id
    return SupportFacts(False, name, message=f"no release table for {distro.id}")


def _distro_info(distro: Distro, folder: Path) -> SupportFacts:
    path = folder / f"{distro.id}.csv"
    label = distro.pretty_name or distro.id
    source = str(path)
    try:
        text = _read_limited(path)
    except FileNotFoundError:
        return SupportFacts(
            False,
            label,
            source=source,
            message=f"{path} not found: apt-get install distro-info-data",
        )
    codename = (distro.codename or "").lower()
    for row in _rows(text):
        if codename and row.get("series", "").lower() == codename:
            return _from_distro_info_row(distro, row, source)
        if (
            not codename
            and distro.version_id
            and row.get("version", "").split()[:1] == [distro.version_id]
        ):
            return _from_distro_info_row(distro, row, source)
    return SupportFacts(
        False,
        label,
        source=source,
        message=f"release {codename or distro.version_id!r} is not in {path}; "
        "update distro-info-data",
    )


def _from_distro_info_row(distro: Distro, row: dict[str, str], source: str) -> SupportFacts:
    version = row.get("version", "").strip()
    series = row.get("series", "").strip()
    title = "Debian" if distro.id == "debian" else "Ubuntu"
    name = f"{title} {version} ({series})" if version else f"{title} {series}"
    end = row.get("eol") or None
    lts: str | None
    if distro.id == "debian":
        lts = row.get("eol-lts") or None
    else:
        server = row.get("eol-server") or None
        lts = server if server and (end is None or server > end) else None
    return SupportFacts(
        True,
        name,
        released=row.get("release") or None,
        end_of_support=end,
        end_of_lts=lts,
        source=source,
        message="" if row.get("release") else "not released yet",
    )


def _alpine(distro: Distro) -> SupportFacts:
    branch = distro.release
    name = f"Alpine {branch}" if branch else "Alpine"
    text = resources.files("hardbase.compare").joinpath(ALPINE_TABLE).read_text(encoding="utf-8")
    for row in _rows(text):
        if row.get("branch") == branch:
            return SupportFacts(
                True,
                name,
                released=row.get("released") or None,
                end_of_support=row.get("end_of_support") or None,
                source=ALPINE_SOURCE,
            )
    return SupportFacts(
        False,
        name,
        source=ALPINE_SOURCE,
        message=f"branch {branch!r} is not in hardbase's Alpine release table",
    )


def support_status(facts: SupportFacts, today: str) -> str:
    """Return ``supported``, ``LTS only``, ``ended`` or ``unknown`` for ISO date ``today``."""
    if not facts.known or facts.last_day is None:
        return "unknown" if not facts.known or facts.released is None else "supported"
    if facts.end_of_support and today <= facts.end_of_support:
        return "supported"
    if facts.end_of_lts and today <= facts.end_of_lts:
        return "LTS only"
    return "ended"


def _read_limited(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(_MAX_CSV_BYTES)
    return data.decode("utf-8", "replace")


def _rows(text: str) -> Iterator[dict[str, str]]:
    """Yield the rows of a CSV table as dictionaries; ``#`` lines are comments."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        yield {key.strip(): (value or "").strip() for key, value in row.items() if key}
