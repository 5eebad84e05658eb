"""Advisory feeds: one parser per feed format, and detection of a file's format by content.

Each parser turns one downloaded or local feed into `Advisory` records. Records a
parser cannot use (an unknown line shape, an invalid version) are skipped and
described in `Feed.skipped`; a document that cannot be read at all (truncated
JSON, wrong top-level shape) raises `FeedError` naming the input.
"""

from __future__ import annotations

import enum
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hardbase.advisories.model import Advisory
from hardbase.errors import InputError

__all__ = ["Feed", "FeedError", "FeedKind", "detect", "read_feed"]


class FeedKind(enum.Enum):
    """The formats hardbase reads."""

    DEBIAN_TRACKER = "debian-tracker"
    """The Debian security tracker's JSON export."""
    DEBIAN_DSA = "debian-dsa"
    """The tracker's text list of Debian Security Advisories."""
    DEBIAN_DLA = "debian-dla"
    """The tracker's text list of Debian LTS Advisories."""
    ALPINE_SECDB = "alpine-secdb"
    """Alpine's secdb for one release and repository, JSON or the older YAML layout."""
    OSV = "osv"
    """OSV records, as a zip (the OSV bucket's ``all.zip``) or a folder of JSON files."""


class FeedError(InputError):
    """A feed document that cannot be read: truncated, malformed or of another format."""


@dataclass(frozen=True)
class Feed:
    """One parsed feed document; `advisories` is consumed once."""

    kind: FeedKind
    name: str
    """Source name in the store: ``debian-tracker``, ``alpine-secdb/v3.20/main``, ..."""
    advisories: Iterator[Advisory]
    skipped: list[str] = field(default_factory=list)
    """One message per record or line that was skipped, filled while `advisories` runs."""


# How many bytes detection looks at; enough for a secdb YAML header or a tracker key.
_SNIFF_BYTES = 64 * 1024

_LIST_HEADER = re.compile(rb"^\[\d{1,2} \w{3} \d{4}\] (DSA|DLA)-\d+", re.MULTILINE)
_ISSUE_KEY = re.compile(rb'^\s*\{\s*"[^"\\]+"\s*:\s*\{\s*"((?:CVE|TEMP)-[^"\\]+)"\s*:')
_SECDB_KEY = re.compile(rb"^(?:distroversion|packages|reponame)\s*:", re.MULTILINE)


def detect(path: Path) -> FeedKind:
    """Return the format of the feed at ``path``, judged by its content, not its name.

    Raises:
        FeedError: when the file or folder contains none of the formats in `FeedKind`.
    """
    if path.is_dir():
        if any(path.rglob("*.json")):
            return FeedKind.OSV
        raise FeedError(
            f"{path}: no .json files found in the folder",
            hint="give a folder of OSV records, a zip of them, or one feed file",
        )
    if path.exists() and not path.is_file():
        # A FIFO would block the read below forever, a device would never end.
        raise FeedError(
            f"{path}: not a regular file or folder", hint="give a feed file or a folder of them"
        )
    if not path.is_file():
        raise FeedError(f"{path}: file not found", hint="check the path")
    if zipfile.is_zipfile(path):
        return FeedKind.OSV

    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    kind = _detect_text(head)
    if kind is None:
        raise FeedError(
            f"{path}: unknown feed format",
            hint=(
                "expected the Debian tracker JSON, a DSA or DLA list, an Alpine secdb "
                "JSON or YAML file, or OSV records (a zip or folder of JSON files)"
            ),
        )
    return kind


def _detect_text(head: bytes) -> FeedKind | None:
    header = _LIST_HEADER.search(head[:4096])
    if header is not None:
        return FeedKind.DEBIAN_DSA if header.group(1) == b"DSA" else FeedKind.DEBIAN_DLA
    if _ISSUE_KEY.match(head):
        return FeedKind.DEBIAN_TRACKER
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return _detect_json_object(stripped)
    if _SECDB_KEY.search(head):
        return FeedKind.ALPINE_SECDB
    return None


def _detect_json_object(head: bytes) -> FeedKind | None:
    # Small documents (secdb JSON, one OSV record) decode whole; a cut-off head of a
    # large one still shows its first keys.
    text = head.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        # Besides invalid JSON: an integer past int()'s digit limit, or arrays and
        # objects nested deeper than the parser's stack.
        keys = set(re.findall(r'"(\w+)"\s*:', text[:4096]))
        if "distroversion" in keys or "packages" in keys:
            return FeedKind.ALPINE_SECDB
        if {"id", "affected"} <= keys:
            return FeedKind.OSV
        return None
    if not isinstance(document, dict):
        return None
    if "distroversion" in document or "packages" in document:
        return FeedKind.ALPINE_SECDB
    if "id" in document and "affected" in document:
        return FeedKind.OSV
    if document and all(isinstance(value, dict) for value in document.values()):
        first = next(iter(document.values()))
        if isinstance(first, dict) and any(key.startswith(("CVE-", "TEMP-")) for key in first):
            return FeedKind.DEBIAN_TRACKER
    return None


def read_feed(path: Path, kind: FeedKind | None = None) -> Feed:
    """Open the feed at ``path`` for parsing; its format is detected when ``kind`` is None.

    Raises:
        FeedError: when the format is unknown, or (for small documents read at once)
            when the document is malformed. Large documents raise it while
            `Feed.advisories` is consumed.
    """
    from hardbase.advisories.sources import alpine_secdb, debian_lists, debian_tracker, osv

    kind = kind or detect(path)
    if kind is FeedKind.DEBIAN_TRACKER:
        return debian_tracker.read(path)
    if kind is FeedKind.DEBIAN_DSA or kind is FeedKind.DEBIAN_DLA:
        return debian_lists.read(path, kind)
    if kind is FeedKind.ALPINE_SECDB:
        return alpine_secdb.read(path)
    return osv.read(path)
