"""The Debian security tracker's JSON export (``/tracker/data/json``).

The document maps each source package to its issues (``CVE-…`` or ``TEMP-…``),
each issue to an optional ``description``, ``debianbug`` and ``scope`` and a
``releases`` object, and each release codename (``sid`` included) to::

    {"status": "resolved" | "open" | "undetermined",
     "repositories": {"bookworm": "1.2-3", "bookworm-security": "1.2-3+deb12u1"},
     "fixed_version": "1.2-3+deb12u1",     # only when resolved; "0": never affected
     "urgency": "unimportant" | "low" | "medium" | "high" | "not yet assigned"
                | "end-of-life" | "low**" | "medium**" | "high**",
     "nodsa": "free text", "nodsa_reason": "ignored" | "postponed",
     "next_point_update": true}

The tracker drops every key whose value is null, so each field may be missing.
An urgency ending in ``**`` was derived from NVD data rather than set by the
security team. The real document is about 70 MB, so it is read one source package
at a time instead of as a whole.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.advisories.sources import Feed, FeedError, FeedKind

__all__ = ["DEFAULT_URL", "iter_packages", "parse_package", "read"]

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://security-tracker.debian.org/tracker/data/json"
SOURCE = "debian-tracker"

_CHUNK_CHARS = 1 << 20
_STATUSES = {
    "resolved": AdvisoryStatus.FIXED,
    "open": AdvisoryStatus.OPEN,
    "undetermined": AdvisoryStatus.UNDETERMINED,
}


def read(path: Path) -> Feed:
    """Open the tracker document at ``path``; parsing happens as the advisories are read."""
    skipped: list[str] = []
    return Feed(FeedKind.DEBIAN_TRACKER, SOURCE, _advisories(path, skipped), skipped)


def _advisories(path: Path, skipped: list[str]) -> Iterator[Advisory]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        try:
            for package, issues in iter_packages(handle, str(path)):
                yield from parse_package(package, issues, skipped)
        except UnicodeDecodeError as error:
            raise FeedError(
                f"{path}: Debian tracker JSON is not valid UTF-8 ({error.reason})",
                hint="download it again",
            ) from None


def iter_packages(stream: TextIO, name: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(source package, issues)`` pairs of a tracker document one at a time.

    Only one package's value is decoded at once, so memory stays bounded by the
    largest package (the kernel's), not by the document.

    Raises:
        FeedError: naming ``name`` when the document is not one JSON object, is
            truncated, or has text after its end.
    """
    reader = _ObjectReader(stream, name)
    yield from reader.members()


class _ObjectReader:
    """Reads the members of a top-level JSON object from a text stream in chunks."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name
        self._decoder = json.JSONDecoder()
        self._buffer = ""
        self._position = 0
        self._eof = False

    def members(self) -> Iterator[tuple[str, Any]]:
        self._expect("{", "the document must be one JSON object")
        if self._peek() == "}":
            self._position += 1
            self._expect_end()
            return
        while True:
            key = self._decode_value()
            if not isinstance(key, str):
                raise self._error("expected a source package name")
            self._expect(":", "expected ':' after a source package name")
            value = self._decode_value()
            yield key, value
            separator = self._peek()
            self._position += 1
            if separator == "}":
                self._expect_end()
                return
            if separator != ",":
                raise self._error("expected ',' or '}' between source packages")

    def _fill(self) -> bool:
        """Read more text into the buffer; return False at the end of the stream."""
        if self._eof:
            return False
        # Read at least as much as is buffered, so a value spanning many chunks is
        # decoded a bounded number of times.
        chunk = self._stream.read(max(_CHUNK_CHARS, len(self._buffer) - self._position))
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._position :] + chunk
        self._position = 0
        return True

    def _skip_whitespace(self) -> None:
        while True:
            length = len(self._buffer)
            while self._position < length and self._buffer[self._position] in " \t\r\n":
                self._position += 1
            if self._position < length or not self._fill():
                return

    def _peek(self) -> str:
        self._skip_whitespace()
        if self._position >= len(self._buffer):
            raise self._error("document ends early (truncated download?)")
        return self._buffer[self._position]

    def _expect(self, char: str, message: str) -> None:
        if self._peek() != char:
            raise self._error(message)
        self._position += 1

    def _expect_end(self) -> None:
        self._skip_whitespace()
        if self._position < len(self._buffer):
            raise self._error("unexpected text after the end of the JSON object")

    def _decode_value(self) -> Any:
        self._peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._position)
            except json.JSONDecodeError as error:
                if self._fill():
                    continue
                raise self._error(f"invalid or truncated JSON ({error.msg})") from None
            except RecursionError:
                raise self._error("JSON arrays or objects nested too deep") from None
            except ValueError as error:
                # An integer past int()'s digit limit raises a plain ValueError, whose
                # advice after the ';' (raise the limit) is no fix for a feed.
                raise self._error(f"invalid JSON ({str(error).split(';')[0]})") from None
            # A number or literal that ends exactly at the buffer's end may continue
            # in the next chunk, so decode it again with more text.
            partial = end == len(self._buffer) and not isinstance(value, dict | list | str)
            if partial and self._fill():
                continue
            self._position = end
            return value

    def _error(self, message: str) -> FeedError:
        return FeedError(
            f"{self._name}: {message}",
            hint="the Debian tracker JSON looks damaged; download it again",
        )


def parse_package(package: str, issues: Any, skipped: list[str]) -> Iterator[Advisory]:
    """Yield one advisory per (issue, release) of one source package's tracker entry.

    Entries of the wrong shape are described in ``skipped`` and left out.
    """
    if not isinstance(issues, dict):
        skipped.append(f"{package}: expected an object of issues, found {type(issues).__name__}")
        return
    for issue_id, issue in issues.items():
        if not isinstance(issue, dict) or not isinstance(issue.get("releases", {}), dict):
            skipped.append(f"{package} {issue_id}: expected an object with 'releases'")
            continue
        description = issue.get("description")
        if not isinstance(description, str):
            description = None
        for release, entry in issue.get("releases", {}).items():
            advisory = _advisory(package, issue_id, release, entry, description, skipped)
            if advisory is not None:
                yield advisory


def _advisory(
    package: str,
    issue_id: str,
    release: str,
    entry: Any,
    description: str | None,
    skipped: list[str],
) -> Advisory | None:
    where = f"{package} {issue_id} {release}"
    if not isinstance(entry, dict):
        skipped.append(f"{where}: expected an object")
        return None
    status = _STATUSES.get(entry.get("status", ""))
    if status is None:
        skipped.append(f"{where}: unknown status {entry.get('status')!r}")
        return None

    fixed_version = _text(entry.get("fixed_version"))
    urgency = _text(entry.get("urgency"))
    repository: str | None = None
    if status is AdvisoryStatus.FIXED:
        if not fixed_version:
            skipped.append(f"{where}: resolved without a fixed_version")
            return None
        if fixed_version == "0":
            status = AdvisoryStatus.NOT_AFFECTED
        else:
            repository = _fixing_repository(entry.get("repositories"), fixed_version)
    elif status is AdvisoryStatus.OPEN and urgency == "end-of-life":
        status = AdvisoryStatus.END_OF_LIFE

    return Advisory(
        source=SOURCE,
        vulnerability_id=issue_id,
        distro="debian",
        release=release,
        package=package,
        status=status,
        fixed_version=fixed_version,
        urgency=urgency,
        nodsa=_text(entry.get("nodsa")),
        nodsa_reason=_text(entry.get("nodsa_reason")),
        record=issue_id,
        repository=repository,
        description=description,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _fixing_repository(repositories: Any, fixed_version: str) -> str | None:
    """Return the first repository (release, then -security) whose version has the fix."""
    from hardbase.versions.dpkg import compare_dpkg, is_valid_dpkg

    if not isinstance(repositories, dict):
        return None
    for repository, version in repositories.items():
        # The common case needs no version parsing: a repository holds the fix itself.
        if version == fixed_version and "-" not in repository:
            return str(repository)
    if not is_valid_dpkg(fixed_version):
        return None
    for repository in sorted(repositories, key=len):
        version = repositories[repository]
        valid = isinstance(version, str) and is_valid_dpkg(version)
        if valid and compare_dpkg(version, fixed_version) >= 0:
            return str(repository)
    return None
