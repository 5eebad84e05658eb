"""The hardening pass: slim and lock down a root filesystem that mmdebstrap installed.

Everything here is Python working on the unpacked tree; no program from the
image runs on the host.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from hardbase.build.prune import PACKAGE_TOOLS, SHELLS, PruneResult, prune, read_status
from hardbase.build.rootfs import remove_tree, resolve, write_file
from hardbase.build.spec import NOLOGIN, Flavour, Hardening

logger = logging.getLogger(__name__)

#: Files mmdebstrap copies from the build host; container runtimes provide their own.
HOST_FILES = ("/etc/resolv.conf", "/etc/hostname")
#: Locales kept whatever the spec says: glibc's built-in C locale with UTF-8.
BUILTIN_LOCALES = ("C.utf8", "C.UTF-8")

_CACHE_FOLDERS = ("/var/lib/apt/lists", "/var/cache/apt", "/var/cache/man", "/var/cache/fontconfig")
_CACHE_FILES = (
    "/var/cache/ldconfig/aux-cache",
    "/var/cache/debconf/config.dat-old",
    "/var/cache/debconf/templates.dat-old",
    "/var/cache/debconf/passwords.dat-old",
    "/var/lib/dpkg/status-old",
    "/var/lib/dpkg/diversions-old",
    "/var/lib/dpkg/statoverride-old",
    "/var/lib/dpkg/available-old",
    "/etc/passwd-",
    "/etc/group-",
    "/etc/shadow-",
    "/etc/gshadow-",
)
#: What the runtime flavour removes besides package files: package manager state and config.
_RUNTIME_LEFTOVERS = (
    "/etc/apt",
    "/etc/dpkg",
    "/var/lib/apt",
    "/var/cache/apt",
    "/var/cache/debconf",
    "/var/lib/dpkg/alternatives",
    "/var/lib/dpkg/available",
    "/var/lib/dpkg/diversions",
    "/var/lib/dpkg/statoverride",
    "/var/lib/dpkg/triggers",
    "/var/lib/dpkg/updates",
    "/var/lib/dpkg/parts",
    "/var/lib/dpkg/lock",
    "/var/lib/dpkg/lock-frontend",
    "/var/lib/dpkg/cmethopt",
)


@dataclass(frozen=True)
class HardeningReport:
    """What the hardening pass changed."""

    prune: PruneResult | None
    cleared_setid: tuple[str, ...]
    """Paths whose setuid or setgid bit was cleared."""
    removed_paths: int
    """Files and folders removed by stripping (package removal not counted)."""


def release_epoch(root: Path) -> int | None:
    """Return the newest ``Date:`` of the apt Release files in ``root``, as a Unix time."""
    lists = resolve(root, "/var/lib/apt/lists")
    if not lists.is_dir():
        return None
    newest: int | None = None
    for entry in sorted(lists.iterdir()):
        if not entry.name.endswith(("_InRelease", "_Release")) or entry.is_symlink():
            continue
        text = entry.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"^Date:\s*(.+)$", text, re.MULTILINE)
        if not match:
            continue
        try:
            stamp = int(parsedate_to_datetime(match.group(1).strip()).timestamp())
        except (TypeError, ValueError):
            continue
        newest = stamp if newest is None else max(newest, stamp)
    return newest


def package_epoch(root: Path) -> int | None:
    """Return the newest package date: the latest mtime of the packages' copyright files.

    dpkg keeps the modification times stored in each .deb, and Debian builds
    set them from the package's changelog date, so this changes only when a
    package version changes.
    """
    try:
        _, installed = read_status(root)
    except FileNotFoundError:
        return None
    newest: int | None = None
    for name in installed:
        path = resolve(root, f"/usr/share/doc/{name}/copyright")
        try:
            info = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISREG(info.st_mode):
            newest = int(info.st_mtime) if newest is None else max(newest, int(info.st_mtime))
    return newest


def harden(root: Path, options: Hardening, packages: tuple[str, ...]) -> HardeningReport:
    """Apply ``options`` to the root filesystem at ``root``.

    ``packages`` are the spec's packages, the roots that slim and runtime
    flavours keep with their dependencies.
    """
    pruned = _prune(root, options, packages)
    removed = 0
    for host_file in HOST_FILES:
        removed += _remove(root, host_file)
    if options.strip_docs:
        removed += _strip_docs(root)
    if options.strip_man:
        removed += _strip_contents(root, "/usr/share/man")
    if options.strip_info:
        removed += _strip_contents(root, "/usr/share/info")
    removed += _strip_locales(root, options.keep_locales)
    if options.strip_caches:
        removed += _strip_caches(root)
    if options.strip_logs:
        removed += _strip_logs(root)
    if options.flavour is Flavour.RUNTIME:
        for leftover in _RUNTIME_LEFTOVERS:
            removed += _remove(root, leftover)
        removed += _remove_dangling_alternatives(root)
        lock_missing_shells(root)
    cleared = clear_setid(root, frozenset(options.setuid_allowlist))
    return HardeningReport(pruned, cleared, removed)


def clear_setid(root: Path, allowlist: frozenset[str]) -> tuple[str, ...]:
    """Clear setuid and setgid bits on every regular file not in ``allowlist``."""
    cleared: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            host = Path(folder, name)
            info = host.lstat()
            if not stat.S_ISREG(info.st_mode) or not info.st_mode & (stat.S_ISUID | stat.S_ISGID):
                continue
            path = "/" + host.relative_to(root).as_posix()
            if path in allowlist:
                continue
            host.chmod(stat.S_IMODE(info.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
            cleared.append(path)
    if cleared:
        logger.info("cleared setuid/setgid bits on %s", ", ".join(cleared))
    return tuple(cleared)


def lock_missing_shells(root: Path) -> tuple[str, ...]:
    """Set the shell of accounts whose shell is not in the image to nologin.

    Returns the names of the accounts changed.
    """
    passwd = resolve(root, "/etc/passwd")
    if not passwd.is_file():
        return ()
    changed: list[str] = []
    lines = []
    for line in passwd.read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[6] and not resolve(root, fields[6]).is_file():
            fields[6] = NOLOGIN
            changed.append(fields[0])
        lines.append(":".join(fields))
    if changed:
        write_file(root, "/etc/passwd", ("\n".join(lines) + "\n").encode(), 0o644)
        logger.info("set the shell of %s to %s", ", ".join(changed), NOLOGIN)
    return tuple(changed)


def _prune(root: Path, options: Hardening, packages: tuple[str, ...]) -> PruneResult | None:
    if options.flavour is Flavour.STANDARD:
        if not options.remove_packages:
            return None
        _, installed = read_status(root)
        keep = [name for name in installed if name not in options.remove_packages]
        return prune(root, keep, frozenset(options.remove_packages))
    roots = [re.split(r"[:=]", name, maxsplit=1)[0] for name in packages]
    excluded = set(options.remove_packages)
    if options.flavour is Flavour.RUNTIME:
        # A package the spec lists by name stays, even a shell: the spec asked for it.
        excluded |= (SHELLS | PACKAGE_TOOLS) - set(roots)
    return prune(root, roots, frozenset(excluded))


def _remove(root: Path, path: str) -> int:
    host = resolve(root, str(Path(path).parent)) / Path(path).name
    if not os.path.lexists(host):
        return 0
    remove_tree(host)
    return 1


def _strip_contents(root: Path, folder: str, keep: tuple[str, ...] = ()) -> int:
    host = resolve(root, folder)
    if not host.is_dir() or host.is_symlink():
        return 0
    removed = 0
    for entry in sorted(host.iterdir()):
        if entry.name in keep:
            continue
        remove_tree(entry)
        removed += 1
    return removed


def _strip_docs(root: Path) -> int:
    docs = resolve(root, "/usr/share/doc")
    removed = 0
    if docs.is_dir():
        for package_dir in sorted(docs.iterdir()):
            if package_dir.is_symlink() or not package_dir.is_dir():
                continue
            for entry in sorted(package_dir.iterdir()):
                if entry.name == "copyright" and not entry.is_dir():
                    continue
                remove_tree(entry)
                removed += 1
    for folder in ("/usr/share/doc-base", "/usr/share/lintian", "/usr/share/linda"):
        removed += _remove(root, folder)
    return removed


def _locale_kept(name: str, keep: tuple[str, ...]) -> bool:
    if name in BUILTIN_LOCALES:
        return True
    return any(name == entry or re.match(re.escape(entry) + r"[_.@]", name) for entry in keep)


def _strip_locales(root: Path, keep: tuple[str, ...]) -> int:
    removed = 0
    for folder in ("/usr/share/locale", "/usr/lib/locale", "/usr/share/i18n/locales"):
        host = resolve(root, folder)
        if not host.is_dir() or host.is_symlink():
            continue
        for entry in sorted(host.iterdir()):
            if entry.name == "locale.alias" or not entry.is_dir() or entry.is_symlink():
                continue
            if _locale_kept(entry.name, keep):
                continue
            remove_tree(entry)
            removed += 1
    return removed


def _strip_caches(root: Path) -> int:
    removed = 0
    for folder in _CACHE_FOLDERS:
        host = resolve(root, folder)
        if not host.is_dir():
            continue
        for entry in sorted(host.iterdir()):
            # Keep the empty folders apt expects, such as lists/partial and archives/partial.
            if entry.is_dir() and not entry.is_symlink():
                removed += _strip_contents(root, f"{folder}/{entry.name}")
            else:
                entry.unlink()
                removed += 1
    for path in _CACHE_FILES:
        removed += _remove(root, path)
    return removed


def _strip_logs(root: Path) -> int:
    logs = resolve(root, "/var/log")
    removed = 0
    if not logs.is_dir():
        return 0
    for folder, _, files in os.walk(logs):
        for name in files:
            Path(folder, name).unlink()
            removed += 1
    return removed


def _remove_dangling_alternatives(root: Path) -> int:
    """Remove links through /etc/alternatives whose program went with a removed package."""
    alternatives = resolve(root, "/etc/alternatives")
    removed = 0
    if alternatives.is_dir():
        for entry in sorted(alternatives.iterdir()):
            if entry.is_symlink() and not _exists_inside(root, entry):
                entry.unlink()
                removed += 1
    for folder in ("/usr/bin", "/usr/sbin", "/usr/share/man"):
        host = resolve(root, folder)
        if not host.is_dir():
            continue
        for entry in sorted(host.iterdir()):
            if not entry.is_symlink():
                continue
            target = str(entry.readlink())
            if target.startswith("/etc/alternatives/") and not _exists_inside(root, entry):
                entry.unlink()
                removed += 1
    if alternatives.is_dir() and not any(alternatives.iterdir()):
        alternatives.rmdir()
    return removed


def _exists_inside(root: Path, link: Path) -> bool:
    return resolve(root, "/" + link.relative_to(root).as_posix()).exists()
