"""The security tracker's text lists of DSAs (``data/DSA/list``) and DLAs (``data/DLA/list``).

Each advisory is a header line, an optional line of CVE ids, then one line per
release it covers::

    [29 Mar 2023] DSA-5380-1 xorg-server - security update
        {CVE-2023-1393}
        [bullseye] - xorg-server 2:1.20.11-1+deb11u6
        [lenny] - vlc <not-affected> (Vulnerable code not present)
        [woody] - awstats 6.4-1sarge1 (bug #322591; medium)
        NOTE: free text

Old advisories have no revision (``DSA-139``), name several packages or none in
the header, and a few release lines carry two spaces before the version. Each
(CVE, release line) becomes one advisory; an advisory without CVE ids (such as a
regression update) uses its own id. Lines of any other shape are skipped and
reported, never fatal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.advisories.sources import Feed, FeedError, FeedKind

__all__ = ["DLA_URL", "DSA_URL", "parse_lines", "read"]

logger = logging.getLogger(__name__)

DSA_URL = (
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DSA/list"
)
DLA_URL = (
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/DLA/list"
)

_HEADER = re.compile(r"^\[(\d{1,2} \w{3} \d{4})\]\s+((?:DSA|DLA)-\d+(?:-\d+)?)(?:\s+(.*))?$")
_IDS = re.compile(r"^\s+\{([^}]*)\}\s*$")
_RELEASE_LINE = re.compile(r"^\s+\[([a-z][\w-]*)\]\s+-\s+(\S+)(?:\s+(.*?))?\s*$")
_RELEASE_REST = re.compile(r"^(?:<([\w-]+)>|([^\s<(]+))?\s*(?:\((.*)\))?$")
_NOTE = re.compile(r"^\s+NOTE:")

#: The real lists are about 1 MB; a larger file is not one, and is read whole.
_MAX_BYTES = 64 * 1024 * 1024

_URGENCIES = {"unimportant", "low", "medium", "high"}
# Markers of the tracker's data files. <no-dsa>, <ignored> and <postponed> all mean
# "affected, no advisory planned"; the last two are the tracker's nodsa_reason.
_MARKERS = {
    "not-affected": AdvisoryStatus.NOT_AFFECTED,
    "unfixed": AdvisoryStatus.OPEN,
    "end-of-life": AdvisoryStatus.END_OF_LIFE,
    "no-dsa": AdvisoryStatus.OPEN,
    "ignored": AdvisoryStatus.OPEN,
    "postponed": AdvisoryStatus.OPEN,
    "undetermined": AdvisoryStatus.UNDETERMINED,
}
_NODSA_MARKERS = {"no-dsa", "ignored", "postponed"}


def read(path: Path, kind: FeedKind) -> Feed:
    """Parse the DSA or DLA list at ``path``; the file is small, so it is read at once.

    Raises:
        FeedError: when the file is larger than 64 MiB, is not UTF-8 text or
            contains no advisory header at all.
    """
    size = path.stat().st_size
    if size > _MAX_BYTES:
        raise FeedError(
            f"{path}: {size} bytes is too large for a {kind.value} list",
            hint=f"expected a {kind.value} list of a few megabytes",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise FeedError(
            f"{path}: {kind.value} list is not UTF-8 text ({error.reason})",
            hint="download it again",
        ) from None
    skipped: list[str] = []
    advisories = list(parse_lines(text.splitlines(), kind, skipped))
    if not advisories and not any(_HEADER.match(line) for line in text.splitlines()[:50]):
        raise FeedError(f"{path}: no advisory lines found", hint=f"expected a {kind.value} list")
    return Feed(kind, kind.value, iter(advisories), skipped)


class _Current:
    """The advisory whose release lines are being read."""

    def __init__(self, record: str) -> None:
        self.record = record
        self.ids: list[str] = []


def parse_lines(lines: list[str], kind: FeedKind, skipped: list[str]) -> Iterator[Advisory]:
    """Yield the advisories of a DSA or DLA list given as lines.

    Each line that fits no known shape is described in ``skipped`` with its line
    number, and parsing goes on.
    """
    current: _Current | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or _NOTE.match(line):
            continue
        header = _HEADER.match(line)
        if header is not None:
            current = _Current(header.group(2))
            continue
        if current is None:
            skipped.append(f"line {number}: text before the first advisory: {line.strip()!r}")
            continue
        ids = _IDS.match(line)
        if ids is not None:
            current.ids.extend(ids.group(1).split())
            continue
        release_line = _RELEASE_LINE.match(line)
        if release_line is None:
            skipped.append(f"line {number} ({current.record}): unknown line {line.strip()!r}")
            continue
        yield from _release_advisories(current, release_line, kind, number, skipped)


def _release_advisories(
    current: _Current,
    release_line: re.Match[str],
    kind: FeedKind,
    number: int,
    skipped: list[str],
) -> Iterator[Advisory]:
    from hardbase.versions.dpkg import is_valid_dpkg

    release, package, rest = release_line.group(1), release_line.group(2), release_line.group(3)
    parts = _RELEASE_REST.match(rest or "")
    where = f"line {number} ({current.record} {release} {package})"
    if parts is None or not (parts.group(1) or parts.group(2)):
        skipped.append(f"{where}: no fixed version or marker in {rest!r}")
        return
    marker, version, note = parts.group(1), parts.group(2), parts.group(3)

    fixed_version: str | None = None
    if marker is not None:
        status = _MARKERS.get(marker)
        if status is None:
            skipped.append(f"{where}: unknown marker <{marker}>")
            return
    else:
        assert version is not None
        if not is_valid_dpkg(version):
            skipped.append(f"{where}: invalid version {version!r}")
            return
        status = AdvisoryStatus.FIXED
        fixed_version = version

    urgency, text = _split_note(note)
    nodsa = text if marker in _NODSA_MARKERS else None
    nodsa_reason = marker if marker in ("ignored", "postponed") else None
    for vulnerability_id in current.ids or [current.record]:
        yield Advisory(
            source=kind.value,
            vulnerability_id=vulnerability_id,
            distro="debian",
            release=release,
            package=package,
            status=status,
            fixed_version=fixed_version,
            urgency=urgency,
            nodsa=nodsa,
            nodsa_reason=nodsa_reason,
            record=current.record,
            repository=f"{release}-security" if status is AdvisoryStatus.FIXED else None,
            aliases=(current.record,) if vulnerability_id != current.record else (),
        )


def _split_note(note: str | None) -> tuple[str | None, str | None]:
    """Split ``bug #123; medium`` into the urgency and the remaining free text."""
    if not note:
        return None, None
    urgency: str | None = None
    rest: list[str] = []
    for part in (piece.strip() for piece in note.split(";")):
        if part in _URGENCIES:
            urgency = part
        elif part:
            rest.append(part)
    return urgency, "; ".join(rest) or None
