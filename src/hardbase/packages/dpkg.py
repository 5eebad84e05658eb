"""Read dpkg's database: ``var/lib/dpkg/status`` and distroless ``status.d/``."""

from __future__ import annotations

import io
import logging
import re

from debian.deb822 import Deb822

from hardbase.image.fs import FilesystemView
from hardbase.packages.catalog import Catalog, CatalogResult
from hardbase.packages.model import Package

logger = logging.getLogger(__name__)

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d"
INFO = "/var/lib/dpkg/info"

#: Largest status file read; real ones are a few megabytes at most.
MAX_STATUS_BYTES = 256 * 1024 * 1024
_MAX_COPYRIGHT_BYTES = 512 * 1024
_MAX_LIST_BYTES = 64 * 1024 * 1024

_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?\s*$")
_LICENSE = re.compile(r"^License:[ \t]*(\S[^\n]*)$", re.MULTILINE)
_DEPENDS_NAME = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)")


class DpkgCatalog(Catalog):
    """Packages that dpkg installed, from its status file or distroless ``status.d/``."""

    ecosystem = "deb"

    def applies(self, fs: FilesystemView) -> bool:
        return fs.is_file(STATUS) or fs.is_dir(STATUS_D)

    def read(self, fs: FilesystemView) -> CatalogResult:
        packages: list[Package] = []
        databases: list[str] = []
        warnings: list[str] = []
        if fs.is_file(STATUS):
            databases.append(STATUS)
            packages.extend(self._read_status(fs, STATUS, warnings))
        if fs.is_dir(STATUS_D):
            for path in fs.glob_dir(STATUS_D):
                if path.endswith(".md5sums"):
                    continue
                databases.append(path)
                packages.extend(self._read_status(fs, path, warnings))
        return CatalogResult(tuple(packages), tuple(databases), tuple(warnings))

    def _read_status(self, fs: FilesystemView, path: str, warnings: list[str]) -> list[Package]:
        entry = fs.stat(path)
        if entry is not None and entry.size > MAX_STATUS_BYTES:
            warnings.append(f"{path}: larger than {MAX_STATUS_BYTES} bytes, not read")
            return []
        text = fs.read_bytes(path).decode("utf-8", errors="replace")
        packages = []
        for number, paragraph in enumerate(Deb822.iter_paragraphs(io.StringIO(text), use_apt_pkg=False)):
            package = self._package(fs, paragraph, path)
            if package is None:
                warnings.append(f"{path}: stanza {number + 1} has no Package or Version field, skipped")
                continue
            if package.state == "not-installed":
                continue
            packages.append(package)
        return packages

    def _package(self, fs: FilesystemView, paragraph: Deb822, database: str) -> Package | None:
        name = paragraph.get("Package", "").strip()
        version = paragraph.get("Version", "").strip()
        if not name or not version:
            return None
        status = paragraph.get("Status", "install ok installed").split()
        selection = status[0] if status else None
        state = status[-1] if len(status) == 3 else "installed"
        source_name, source_version = name, version
        match = _SOURCE.match(paragraph.get("Source", ""))
        if match:
            source_name = match.group("name")
            source_version = match.group("version") or version
        architecture = paragraph.get("Architecture") or None
        size = paragraph.get("Installed-Size", "").strip()
        return Package(
            name=name,
            version=version,
            ecosystem="deb",
            architecture=architecture,
            source_name=source_name,
            source_version=source_version,
            state=state,
            selection=selection,
            files=self._files(fs, name, architecture, database),
            licenses=self._licenses(fs, name),
            maintainer=paragraph.get("Maintainer"),
            homepage=paragraph.get("Homepage"),
            description=(paragraph.get("Description") or "").split("\n")[0] or None,
            installed_size=int(size) * 1024 if size.isdigit() else None,
            depends=_depends(paragraph.get("Depends", "") + "," + paragraph.get("Pre-Depends", "")),
            database=database,
        )

    def _files(self, fs: FilesystemView, name: str, architecture: str | None, database: str) -> tuple[str, ...]:
        if database.startswith(STATUS_D + "/"):
            # Distroless keeps no .list files; its md5sums name the installed files.
            return tuple(sorted(md5sums_for(fs, database + ".md5sums")))
        for candidate in (f"{INFO}/{name}:{architecture}.list", f"{INFO}/{name}.list"):
            if fs.is_file(candidate):
                text = fs.read_bytes(candidate, _MAX_LIST_BYTES).decode("utf-8", "surrogateescape")
                return tuple(line for line in text.splitlines() if line.startswith("/") and line != "/.")
        return ()

    def _licenses(self, fs: FilesystemView, name: str) -> tuple[str, ...]:
        path = f"/usr/share/doc/{name}/copyright"
        if not fs.is_file(path):
            return ()
        text = fs.read_text(path, _MAX_COPYRIGHT_BYTES)
        if "Format:" not in text[:500]:
            # Only machine-readable copyright files (DEP-5) name licenses reliably.
            return ()
        found: list[str] = []
        for match in _LICENSE.finditer(text):
            license_name = match.group(1).strip()
            if license_name and license_name not in found:
                found.append(license_name)
        return tuple(found)


def md5sums_for(fs: FilesystemView, path: str) -> dict[str, str]:
    """Return ``{absolute path: md5 hex digest}`` from a dpkg md5sums file."""
    if not fs.is_file(path):
        return {}
    sums: dict[str, str] = {}
    text = fs.read_bytes(path, _MAX_LIST_BYTES).decode("utf-8", "surrogateescape")
    for line in text.splitlines():
        digest, _, file_path = line.partition("  ")
        if len(digest) == 32 and file_path:
            sums["/" + file_path.lstrip("/")] = digest
    return sums


def package_md5sums(fs: FilesystemView, package: Package) -> dict[str, str]:
    """Return the recorded md5 digests of a dpkg package's installed files."""
    if package.database.startswith(STATUS_D + "/"):
        return md5sums_for(fs, package.database + ".md5sums")
    for candidate in (f"{INFO}/{package.name}:{package.architecture}.md5sums", f"{INFO}/{package.name}.md5sums"):
        if fs.is_file(candidate):
            return md5sums_for(fs, candidate)
    return {}


def _depends(field: str) -> tuple[str, ...]:
    names: list[str] = []
    for clause in field.split(","):
        for alternative in clause.split("|"):
            match = _DEPENDS_NAME.match(alternative)
            if match and match.group(1) not in names:
                names.append(match.group(1))
    return tuple(names)
