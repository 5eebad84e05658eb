"""Identify an image's C library (glibc or musl) and state musl's compatibility caveats.

The package record decides when there is one: Debian's ``libc6`` (glibc) and
Alpine's ``musl``. Without a record, the dynamic loader or ``libc.so.6`` on
disk names the family, and glibc's version is read from the banner string
that ``libc.so.6`` carries.
"""

from __future__ import annotations

import re

from hardbase.compare.model import LibcFacts
from hardbase.image.fs import FilesystemView
from hardbase.packages import Inventory

#: Bytes of libc.so.6 searched for its version banner; glibc 2.36 keeps it in its first 2 MiB.
_BANNER_LIMIT = 4 * 1024 * 1024
_GLIBC_BANNER = re.compile(rb"GNU C Library [^\n\x00]*? version (\d+\.\d+(?:\.\d+)?)")
_UPSTREAM = re.compile(r"^(?:\d+:)?(\d+(?:\.\d+)+)")
_GLIBC_FOLDERS = ("/usr/lib", "/lib", "/usr/lib64", "/lib64")

#: Compatibility caveats of musl for programs and C extensions built against glibc.
MUSL_CAVEATS = (
    "no manylinux wheels: Python C extensions need musllinux wheels (PEP 656) or a source build",
    "DNS resolver differs: nameservers queried in parallel, no single-request options, "
    "search domains only below ndots, TCP fallback only since musl 1.2.4",
    "default thread stack is 128 KiB (glibc: 8 MiB), so deep recursion in threads can crash",
    "locale support is limited: every locale uses UTF-8 and no collation rules (LC_COLLATE) "
    "are applied",
)


def detect_libc(fs: FilesystemView, inventory: Inventory) -> LibcFacts:
    """Return the C library family and version of the image whose files are ``fs``."""
    for package in inventory.present:
        if package.ecosystem == "deb" and package.name == "libc6":
            return LibcFacts(
                "glibc", upstream_version(package.version), f"package libc6 {package.version}"
            )
        if package.ecosystem == "apk" and package.name == "musl":
            return LibcFacts(
                "musl", upstream_version(package.version), f"package musl {package.version}"
            )

    for folder in ("/lib", "/usr/lib"):
        for name in fs.listdir(folder):
            if name.startswith("ld-musl-") and name.endswith(".so.1"):
                return LibcFacts("musl", None, f"{folder}/{name} (no musl package record)")

    for path in _glibc_candidates(fs):
        version = _glibc_banner_version(fs, path)
        return LibcFacts("glibc", version, f"{path} (no libc6 package record)")
    return LibcFacts(None, None, "no libc6 or musl package, no libc.so.6 or ld-musl loader")


def upstream_version(version: str) -> str | None:
    """Return the upstream part of a package version: ``2.36-9+deb12u9`` gives ``2.36``."""
    match = _UPSTREAM.match(version)
    return match.group(1) if match else None


def _glibc_candidates(fs: FilesystemView) -> list[str]:
    found = []
    for folder in _GLIBC_FOLDERS:
        for name in fs.listdir(folder):
            path = f"{folder}/{name}"
            if name == "libc.so.6" and fs.is_file(path):
                found.append(path)
            elif fs.is_dir(path) and name.endswith("-linux-gnu"):
                nested = f"{path}/libc.so.6"
                if fs.is_file(nested):
                    found.append(nested)
        if found:
            return found
    for folder in _GLIBC_FOLDERS:
        for name in fs.listdir(folder):
            if name.startswith("ld-linux") and fs.is_file(f"{folder}/{name}"):
                return [f"{folder}/{name}"]
    return []


def _glibc_banner_version(fs: FilesystemView, path: str) -> str | None:
    try:
        data = fs.read_bytes(path, _BANNER_LIMIT)
    except OSError:
        return None
    match = _GLIBC_BANNER.search(data)
    return match.group(1).decode("ascii") if match else None
