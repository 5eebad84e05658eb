"""Remove packages from a root filesystem without running dpkg, keeping its database true.

A removed package loses its files, its ``/var/lib/dpkg/info`` files and its
stanza in ``/var/lib/dpkg/status``, so scanners list exactly the packages
whose files are still in the image.
"""

from __future__ import annotations

import io
import logging
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from debian.deb822 import Deb822

from hardbase.build.rootfs import resolve, resolve_parent, write_file

logger = logging.getLogger(__name__)

STATUS = "/var/lib/dpkg/status"
INFO = "/var/lib/dpkg/info"

#: Shells, removed by the runtime flavour.
SHELLS = frozenset(
    {"bash", "dash", "zsh", "ksh", "mksh", "posh", "yash", "tcsh", "csh", "fish", "busybox"}
)
#: Package managers and the tools and interpreters that their maintainer scripts use,
#: removed by the runtime flavour unless the spec lists them. Packages reached only through
#: these are removed as well.
PACKAGE_TOOLS = frozenset(
    {
        "mawk",
        "gawk",
        "original-awk",
        "perl-base",
        "dpkg",
        "apt",
        "apt-utils",
        "aptitude",
        "debconf",
        "debconf-i18n",
        "ucf",
        "install-info",
        "init-system-helpers",
        "debianutils",
        "sensible-utils",
    }
)
#: Packages every pruned image keeps: the release files and the root folder layout.
ALWAYS_KEPT = ("base-files",)

_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?")


@dataclass(frozen=True)
class InstalledPackage:
    """One stanza of the dpkg status file."""

    name: str
    architecture: str
    depends: tuple[tuple[str, ...], ...]
    """Pre-Depends and Depends clauses, each a tuple of alternative package names."""
    provides: tuple[str, ...]


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed."""

    kept: tuple[str, ...]
    removed: tuple[str, ...]
    removed_files: int


def read_status(root: Path) -> tuple[list[Deb822], dict[str, InstalledPackage]]:
    """Return the status stanzas in file order and the installed packages by name."""
    path = resolve(root, STATUS)
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    stanzas = list(Deb822.iter_paragraphs(io.StringIO(text), use_apt_pkg=False))
    installed: dict[str, InstalledPackage] = {}
    for stanza in stanzas:
        status = stanza.get("Status", "").split()
        if not status or status[-1] != "installed":
            continue
        name = stanza["Package"]
        depends = _clauses(stanza.get("Pre-Depends", "")) + _clauses(stanza.get("Depends", ""))
        provides = tuple(alternatives[0] for alternatives in _clauses(stanza.get("Provides", "")))
        installed[name] = InstalledPackage(name, stanza.get("Architecture", ""), depends, provides)
    return stanzas, installed


def closure(
    roots: Iterable[str], installed: dict[str, InstalledPackage], excluded: frozenset[str]
) -> set[str]:
    """Return the installed packages that ``roots`` need through Depends and Pre-Depends.

    For each clause the first installed, non-excluded alternative is taken;
    a clause whose alternatives are all excluded is dropped, which is how a
    runtime image loses debconf while keeping tzdata.
    """
    providers: dict[str, list[str]] = {}
    for package in installed.values():
        for virtual in package.provides:
            providers.setdefault(virtual, []).append(package.name)

    def candidates(name: str) -> list[str]:
        found = [name] if name in installed else []
        return found + sorted(providers.get(name, []))

    kept: set[str] = set()
    pending = [name for name in roots if name in installed and name not in excluded]
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept.add(name)
        for clause in installed[name].depends:
            usable = [c for alt in clause for c in candidates(alt) if c not in excluded]
            if not usable:
                continue
            if any(choice in kept for choice in usable):
                continue
            pending.append(usable[0])
    return kept


def prune(root: Path, roots: Iterable[str], excluded: frozenset[str]) -> PruneResult:
    """Remove every installed package outside the closure of ``roots``.

    Files that a kept package also lists stay, and so do folders that are
    not empty afterwards.
    """
    stanzas, installed = read_status(root)
    kept = closure([*ALWAYS_KEPT, *roots], installed, excluded)
    removed = sorted(set(installed) - kept)
    if not removed:
        return PruneResult(tuple(sorted(kept)), (), 0)

    kept_paths = {
        _key(root, path) for name in kept for path in _listed_paths(root, installed[name])
    }
    candidates: set[str] = set()
    for name in removed:
        candidates.update(_listed_paths(root, installed[name]))

    removed_files = 0
    folders: list[str] = []
    for path in sorted(candidates):
        if _key(root, path) in kept_paths:
            continue
        host = resolve_parent(root, path)
        try:
            info = host.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            folders.append(path)
            continue
        host.unlink()
        removed_files += 1
    for path in sorted(folders, key=lambda p: p.count("/"), reverse=True):
        host = resolve_parent(root, path)
        try:
            host.rmdir()
        except OSError:
            # Not empty: files of kept packages or of no package remain in it.
            continue

    for name in removed:
        _remove_info_files(root, installed[name])
    _write_status(root, [s for s in stanzas if s.get("Package") not in set(removed)])
    logger.info("removed %d packages: %s", len(removed), " ".join(removed))
    return PruneResult(tuple(sorted(kept)), tuple(removed), removed_files)


def _clauses(field: str) -> tuple[tuple[str, ...], ...]:
    clauses = []
    for clause in field.split(","):
        names = []
        for alternative in clause.split("|"):
            match = _NAME.match(alternative)
            if match:
                names.append(match.group(1))
        if names:
            clauses.append(tuple(names))
    return tuple(clauses)


def _info_stems(package: InstalledPackage) -> tuple[str, ...]:
    return (package.name, f"{package.name}:{package.architecture}")


def _listed_paths(root: Path, package: InstalledPackage) -> list[str]:
    for stem in _info_stems(package):
        listing = resolve(root, f"{INFO}/{stem}.list")
        if listing.is_file():
            text = listing.read_text(encoding="utf-8", errors="surrogateescape")
            return [line for line in text.splitlines() if line.startswith("/") and line != "/."]
    return []


def _key(root: Path, path: str) -> str:
    # /bin/sh and /usr/bin/sh are one file on a merged-/usr system, so compare resolved paths.
    return str(resolve_parent(root, path))


def _remove_info_files(root: Path, package: InstalledPackage) -> None:
    folder = resolve(root, INFO)
    stems = _info_stems(package)
    for entry in folder.iterdir():
        stem, _, _ = entry.name.rpartition(".")
        if stem in stems:
            entry.unlink()


def _write_status(root: Path, stanzas: list[Deb822]) -> None:
    text = "\n".join(stanza.dump() for stanza in stanzas)
    write_file(root, STATUS, text.encode("utf-8", "surrogateescape"), 0o644)
