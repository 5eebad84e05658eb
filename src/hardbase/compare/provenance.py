"""Provenance of an image's packages: installed-file integrity and the signed index check.

File integrity compares each installed file with the checksum its package
recorded: dpkg's ``md5sums`` and apk's ``Z:`` SHA-1. Configuration files
under /etc may be edited by design, so a changed one is counted apart, as
``dpkg --verify`` and ``apk audit`` do: dpkg's from the ``Conffiles`` field
of its status file, apk's for every path under /etc.

The index check looks up each installed Debian package's exact version in
the Packages indices of the release's suites (security, updates, release),
read through `hardbase.advisories.archive`, which verifies each InRelease
with gpgv and each index against the SHA256 that InRelease lists.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hardbase.advisories.archive import (
    DEBIAN_KEYRING,
    DEFAULT_MIRROR,
    DEFAULT_SECURITY_MIRROR,
    ArchiveCache,
    ArchiveClient,
    PackagesIndex,
    default_cache_dir,
    fetch_packages_index,
    fetch_release,
    select_index,
)
from hardbase.compare.model import FileIntegrity, IndexProvenance
from hardbase.errors import HardbaseError
from hardbase.image.fs import FilesystemView
from hardbase.packages import Inventory, Package
from hardbase.packages.apk import decode_checksum
from hardbase.packages.dpkg import STATUS, package_md5sums

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_CONFFILE_LINE = re.compile(r"^\s+(/\S+)\s+[0-9a-f]{32}(?:\s+\S+)*\s*$")
_STANZA_SEPARATOR = re.compile(r"\n\s*\n")
_MAX_STATUS_BYTES = 256 * 1024 * 1024
_SUITE_KINDS = ("{codename}-security", "{codename}-updates", "{codename}")

APK_INDEX_NOTE = (
    "not checked: apk repository indexes (APKINDEX) are RSA-signed, but the image keeps no "
    "copy of the index it installed from and hardbase does not fetch Alpine's"
)


# ----------------------------------------------------------------------------- file integrity


def check_file_integrity(fs: FilesystemView, inventory: Inventory) -> FileIntegrity:
    """Compare every installed file with its package's recorded checksum.

    Files of packages whose files are not present (dpkg ``config-files``) are
    skipped. A recorded path that is a folder, a device or unreadable is
    counted in ``unreadable``; a path that does not exist is ``missing``.
    """
    present = inventory.present
    if not present:
        return FileIntegrity(False, "no package database, so there are no checksums to compare")
    ecosystems = {p.ecosystem for p in present}
    tally = _Tally()
    if "deb" in ecosystems:
        conffiles = read_conffiles(fs)
        for package in present:
            if package.ecosystem == "deb":
                _check_files(fs, package_md5sums(fs, package).items(), "md5", conffiles, tally)
    if "apk" in ecosystems:
        for package in present:
            if package.ecosystem == "apk":
                _check_files(fs, _apk_sha1sums(package), "sha1", None, tally, link_text=True)
    algorithms = " and ".join(a for e, a in (("deb", "md5"), ("apk", "sha1")) if e in ecosystems)
    if tally.matched + len(tally.changed) + len(tally.missing) + len(tally.config) == 0:
        return FileIntegrity(False, "the packages record no file checksums", algorithm=algorithms)
    return FileIntegrity(
        True,
        "",
        algorithm=algorithms,
        matched=tally.matched,
        changed=tuple(sorted(tally.changed)),
        missing=tuple(sorted(tally.missing)),
        config_changed=tuple(sorted(tally.config)),
        unreadable=tally.unreadable,
    )


@dataclass
class _Tally:
    matched: int = 0
    unreadable: int = 0

    def __post_init__(self) -> None:
        self.changed: set[str] = set()
        self.missing: set[str] = set()
        self.config: set[str] = set()


def read_conffiles(fs: FilesystemView) -> frozenset[str]:
    """Return the paths that dpkg's status file lists in ``Conffiles`` fields."""
    if not fs.is_file(STATUS):
        return frozenset()
    text = fs.read_bytes(STATUS, _MAX_STATUS_BYTES).decode("utf-8", "surrogateescape")
    found: set[str] = set()
    for stanza in _STANZA_SEPARATOR.split(text):
        in_conffiles = False
        for line in stanza.splitlines():
            if line.startswith("Conffiles:"):
                in_conffiles = True
                continue
            if in_conffiles and line[:1] in (" ", "\t"):
                match = _CONFFILE_LINE.match(line)
                if match:
                    found.add(match.group(1))
                continue
            in_conffiles = False
    return frozenset(found)


def _apk_sha1sums(package: Package) -> list[tuple[str, str]]:
    sums = []
    for key, value in package.extra.items():
        if not key.startswith("Z:"):
            continue
        decoded = decode_checksum(value)
        if decoded is not None and decoded[0] == "sha1":
            sums.append((key[2:], decoded[1]))
    return sums


def _check_files(
    fs: FilesystemView,
    sums: Iterable[tuple[str, str]],
    algorithm: str,
    conffiles: frozenset[str] | None,
    tally: _Tally,
    *,
    link_text: bool = False,
) -> None:
    for path, expected in sums:
        # dpkg's md5sums list regular files only, so a link there is followed.
        entry = fs.lstat(path) if link_text else fs.stat(path)
        if entry is None:
            tally.missing.add(path)
            continue
        if entry.is_symlink and entry.link_target is not None:
            # apk records the checksum of a link's target text, not of the file it points to.
            target = entry.link_target.encode("utf-8", "surrogateescape")
            digest: str | None = hashlib.new(algorithm, target, usedforsecurity=False).hexdigest()
        elif not entry.is_file:
            tally.unreadable += 1
            continue
        else:
            digest = _digest(fs, path, algorithm)
        if digest is None:
            tally.unreadable += 1
        elif digest == expected.lower():
            tally.matched += 1
        elif _is_config(path, conffiles):
            tally.config.add(path)
        else:
            tally.changed.add(path)


def _is_config(path: str, conffiles: frozenset[str] | None) -> bool:
    if not path.startswith("/etc/"):
        return False
    # apk treats every file under /etc as configuration; dpkg only its conffiles.
    return conffiles is None or path in conffiles


def _digest(fs: FilesystemView, path: str, algorithm: str) -> str | None:
    hasher = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with fs.open(path) as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                hasher.update(chunk)
    except (OSError, HardbaseError) as error:
        logger.debug("cannot read %s for its checksum: %s", path, error)
        return None
    return hasher.hexdigest()


# ----------------------------------------------------------------------------- signed index


@dataclass(frozen=True)
class ArchiveSettings:
    """Mirrors, signing keyring and cache folder of the Debian archive."""

    mirror: str = DEFAULT_MIRROR
    security_mirror: str = DEFAULT_SECURITY_MIRROR
    keyring: Path = DEBIAN_KEYRING
    cache_dir: Path | None = None
    offline: bool = False


def check_signed_index(inventory: Inventory, settings: ArchiveSettings) -> IndexProvenance:
    """Look up each installed package's exact version in the release's verified indices.

    Only Debian images are checked; Alpine and others get ``checked=False``
    with the reason. A suite that cannot be fetched or verified is named in
    the message and left out. A package missing from every index was built
    elsewhere, or its version was superseded and dropped from the archive.
    """
    distro = inventory.distro
    if distro is not None and distro.family == "alpine":
        return IndexProvenance(False, APK_INDEX_NOTE)
    if distro is None or distro.id != "debian":
        name = distro.id if distro else "an unknown distribution"
        return IndexProvenance(False, f"not checked: hardbase knows no signed archive for {name}")
    codename = distro.codename
    installed = [p for p in inventory.installed if p.ecosystem == "deb" and p.architecture]
    if not codename or not installed:
        return IndexProvenance(False, "not checked: no codename or no installed Debian packages")

    architectures = sorted(
        {p.architecture for p in installed if p.architecture and p.architecture != "all"}
    )
    cache = ArchiveCache(settings.cache_dir or default_cache_dir())
    client = None if settings.offline else ArchiveClient()
    indices: list[PackagesIndex] = []
    verified: list[str] = []
    problems: list[str] = []
    try:
        for pattern in _SUITE_KINDS:
            suite = pattern.format(codename=codename)
            mirror = settings.security_mirror if suite.endswith("-security") else settings.mirror
            read = _read_suite(client, cache, mirror, suite, settings.keyring, architectures)
            if isinstance(read, str):
                problems.append(read)
                continue
            verified.append(suite)
            indices.extend(read)
    finally:
        if client is not None:
            client.close()
    if not indices:
        return IndexProvenance(False, "not checked: " + "; ".join(problems or ["no index read"]))

    found = 0
    not_found: list[str] = []
    for package in installed:
        if _listed(package, indices):
            found += 1
        else:
            not_found.append(f"{package.name}={package.version}")
    return IndexProvenance(
        True,
        "; ".join(problems),
        found=found,
        not_found=tuple(not_found),
        suites=tuple(verified),
    )


def _read_suite(
    client: ArchiveClient | None,
    cache: ArchiveCache,
    mirror: str,
    suite: str,
    keyring: Path,
    architectures: list[str],
) -> list[PackagesIndex] | str:
    """Return the verified main indices of ``suite``, or why they could not be read."""
    try:
        release = fetch_release(client, cache, mirror, suite, keyring)
        indices = []
        for architecture in architectures:
            index = select_index(release, "main", architecture)
            if index is None:
                continue
            indices.append(fetch_packages_index(client, cache, release, index))
    except HardbaseError as error:
        logger.info("suite %s not used for the index check: %s", suite, error)
        return f"{suite}: {error}"
    return indices


def _listed(package: Package, indices: list[PackagesIndex]) -> bool:
    key = (package.name, package.architecture or "")
    for index in indices:
        entry = index.entries.get(key)
        if entry is not None and entry.version == package.version:
            return True
    return False


def describe_index(provenance: IndexProvenance) -> str:
    """Return one line for a table cell: how many installed versions a signed index lists."""
    if not provenance.checked:
        return provenance.message
    total = provenance.found + len(provenance.not_found)
    return f"{provenance.found} of {total} in signed {', '.join(provenance.suites)}"
