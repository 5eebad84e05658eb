"""The comparison model: facts collected from each image, and the rows built from them.

`ImageFacts` contains what one image shows about itself; `Row` puts one aspect
of every image side by side with a one-line verdict. Renderers read only
these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SizeFacts:
    """Sizes of an image as stored and as unpacked."""

    unpacked_bytes: int
    """Regular-file content of the merged root filesystem."""
    stored_bytes: int
    """Layer blobs as stored, or the root filesystem tarball's file size."""
    compression: str | None
    """Compression of the stored layers (``gzip``, ``zstd``, ...), None when plain tar."""
    layers: int
    stored_as: str
    """Kind of storage ``stored_bytes`` measures: ``layer blobs`` or ``tarball file``."""


@dataclass(frozen=True)
class LibcFacts:
    """The C library an image's programs link against."""

    family: str | None
    """``glibc``, ``musl`` or None when neither is found."""
    version: str | None
    """Upstream version such as ``2.36`` or ``1.2.5``; None when no record gives it."""
    evidence: str
    """Source of the family and version: a package record or a file path."""


@dataclass(frozen=True)
class UserFacts:
    """The user a container of the image runs as, and the tools an attacker would find."""

    configured: str | None
    """``config.User`` as written; None when unset or the image has no configuration."""
    runs_as_root: bool | None
    setuid: int
    """Regular files whose setuid bit takes effect (an execute bit is set)."""
    setgid: int
    """Regular files whose setgid bit takes effect (group execute is set)."""
    shells: tuple[str, ...]
    package_managers: tuple[str, ...]
    privilege_tools: tuple[str, ...]


@dataclass(frozen=True)
class VulnerabilityFacts:
    """Vulnerabilities matched against the advisory store, counted by verdict and severity."""

    checked: bool
    """False when no advisory store exists or the release is not covered."""
    message: str
    """Reason nothing was checked, or a note about the data (an end of support)."""
    by_state: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """``{verdict: {severity: count}}`` for reported verdicts (``fix-available``, ``no-fix``...)."""

    @property
    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self.by_state.values())

    def state_total(self, state: str) -> int:
        return sum(self.by_state.get(state, {}).values())


@dataclass(frozen=True)
class PendingFacts:
    """Updates the signed archive offers for installed packages."""

    checked: bool
    message: str
    """Reason nothing was checked, or the suites that could not be read."""
    security: int = 0
    other: int = 0
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class SupportFacts:
    """Release and end-of-support dates of the image's distribution release."""

    known: bool
    release_name: str
    """``Debian 12 (bookworm)``, ``Alpine 3.20``."""
    released: str | None = None
    """ISO date of the release."""
    end_of_support: str | None = None
    """ISO date that regular security support ends."""
    end_of_lts: str | None = None
    """ISO date that long-term support ends (Debian LTS); None when there is none."""
    source: str = ""
    """The table the dates come from."""
    message: str = ""

    @property
    def last_day(self) -> str | None:
        """The later of the end of support and the end of LTS."""
        dates = [d for d in (self.end_of_support, self.end_of_lts) if d]
        return max(dates) if dates else None


@dataclass(frozen=True)
class IndexProvenance:
    """Whether the installed package versions appear in a signed repository index."""

    checked: bool
    message: str
    """Suites that failed, or the reason the check was not made."""
    found: int = 0
    """Installed packages whose exact version is in a verified index."""
    not_found: tuple[str, ...] = ()
    """``name=version`` of installed packages no verified index lists at that version."""
    suites: tuple[str, ...] = ()
    """Suites whose InRelease signature verified and whose indices were read."""


@dataclass(frozen=True)
class FileIntegrity:
    """Installed files compared with the checksums their packages recorded."""

    checked: bool
    message: str
    algorithm: str = ""
    """``md5`` (dpkg md5sums) or ``sha1`` (apk ``Z:``)."""
    matched: int = 0
    changed: tuple[str, ...] = ()
    """Paths whose content no longer matches, configuration files excluded."""
    missing: tuple[str, ...] = ()
    config_changed: tuple[str, ...] = ()
    """Configuration files under /etc whose content differs, which dpkg and apk allow."""
    unreadable: int = 0
    """Recorded paths that are not regular files (folders, devices) or cannot be read."""


@dataclass(frozen=True)
class ImageFacts:
    """Everything the comparison read from one image."""

    label: str
    """Column name: ``alpine-3.20.3``, ``debian-12``, or the label the user gave."""
    reference: str
    distro: str
    """Pretty name of the distribution, or ``unknown``."""
    distro_id: str | None
    ecosystem: str | None
    """``deb`` or ``apk``; None when no package database was found."""
    sizes: SizeFacts
    packages: tuple[str, ...]
    """Names of the packages whose files are in the image, sorted, each once."""
    libc: LibcFacts
    user: UserFacts
    vulnerabilities: VulnerabilityFacts
    pending: PendingFacts
    support: SupportFacts
    index: IndexProvenance
    files: FileIntegrity
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One aspect of every image side by side, with the verdict in one line."""

    key: str
    """Stable identifier: ``size-unpacked``, ``libc``, ``provenance-files``..."""
    title: str
    values: tuple[str, ...]
    """One cell per image, in the order of the comparison's images."""
    verdict: str
    """Sentence naming the better image on this aspect and why, or why none is."""
    best: tuple[int, ...] = ()
    """Indices of the images the verdict favours; empty when none is better."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Plain numbers behind the cells, for JSON and charts."""


@dataclass(frozen=True)
class Comparison:
    """Images compared and the rows that compare them."""

    images: tuple[ImageFacts, ...]
    rows: tuple[Row, ...]
    generated: str
    """ISO date that the support status and the verdicts refer to."""

    def row(self, key: str) -> Row:
        """Return the row with ``key``; raises KeyError when there is none."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)
