"""Measure what an image carries but does not need at run time: caches, documentation, locales."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.context import ImageContext
from hardbase.audit.image_checks.rules import Rule
from hardbase.scan.findings import Finding


@dataclass(frozen=True)
class Location:
    """A folder tree whose regular files are counted together."""

    path: str
    """The folder, or a pattern of folders such as ``/home/*/.cache/pip``."""
    description: str
    keep: tuple[str, ...] = ()
    """Regular expressions of paths that are excluded because the image needs them."""

    def pattern(self) -> re.Pattern[str]:
        prefix = re.escape(self.path).replace(r"\*", "[^/]+")
        return re.compile(prefix + "/")


@dataclass(frozen=True)
class LocationSize:
    """Number of regular files and bytes under one location of an image."""

    path: str
    description: str
    files: int
    bytes: int

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "description": self.description,
            "files": self.files,
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class Footprint:
    """Sizes of the package caches and of the documentation an image holds."""

    caches: tuple[LocationSize, ...]
    documentation: tuple[LocationSize, ...]

    @property
    def cache_bytes(self) -> int:
        return sum(location.bytes for location in self.caches)

    @property
    def documentation_bytes(self) -> int:
        return sum(location.bytes for location in self.documentation)


CACHES = (
    Location("/var/cache/apt", "apt's downloaded .deb files and package cache"),
    Location("/var/lib/apt/lists", "apt's package index lists"),
    Location("/var/cache/apk", "apk's package cache"),
    Location("/root/.cache/pip", "pip's download and wheel cache"),
    Location("/home/*/.cache/pip", "pip's download and wheel cache"),
)
DOCUMENTATION = (
    # Copyright files carry the licence notices that redistribution requires.
    Location("/usr/share/doc", "package documentation", keep=(r"/copyright$",)),
    Location("/usr/share/man", "manual pages"),
    Location("/usr/share/info", "info manuals"),
    Location("/usr/share/locale", "message translations"),
    # C.utf8 is the locale that programs fall back to, so it stays.
    Location("/usr/lib/locale", "compiled locales", keep=(r"^/usr/lib/locale/C\.(?i:utf-?8)/",)),
)


def measure_footprint(context: ImageContext) -> Footprint:
    """Return the size of each cache and documentation location in one pass over the entries."""
    locations = CACHES + DOCUMENTATION
    patterns = [location.pattern() for location in locations]
    keeps = [[re.compile(k) for k in location.keep] for location in locations]
    files = [0] * len(locations)
    sizes = [0] * len(locations)
    for entry in context.entries:
        if not entry.is_file:
            continue
        for index, pattern in enumerate(patterns):
            if pattern.match(entry.path) and not any(k.search(entry.path) for k in keeps[index]):
                files[index] += 1
                sizes[index] += entry.size
                break
    measured = [
        LocationSize(location.path, location.description, files[i], sizes[i])
        for i, location in enumerate(locations)
    ]
    return Footprint(tuple(measured[: len(CACHES)]), tuple(measured[len(CACHES) :]))


def check_footprint(footprint: Footprint) -> list[Finding]:
    """Report caches and documentation that hold any bytes, with the total that could be saved."""
    findings = []
    groups: tuple[tuple[Rule, tuple[LocationSize, ...], str], ...] = (
        (rules.PACKAGE_CACHE, footprint.caches, "Package caches left in the image"),
        (rules.DOCUMENTATION, footprint.documentation, "Documentation and translations"),
    )
    for rule, sizes, label in groups:
        present = [size for size in sizes if size.bytes > 0]
        if not present:
            continue
        total = sum(size.bytes for size in present)
        places = ", ".join(size.path for size in present)
        findings.append(
            rule.finding(
                f"{label}: {format_size(total)} could be saved ({places})",
                {"total_bytes": total, "locations": [size.to_dict() for size in present]},
            )
        )
    return findings


def format_size(size: int) -> str:
    """Return ``size`` bytes in binary units, such as ``31.8 MiB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
