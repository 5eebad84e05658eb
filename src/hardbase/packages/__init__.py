"""Package databases and os-release: what is installed in an image."""

from __future__ import annotations

from hardbase.image.fs import FilesystemView
from hardbase.packages.apk import ApkCatalog
from hardbase.packages.catalog import Catalog, CatalogResult
from hardbase.packages.dpkg import DpkgCatalog
from hardbase.packages.model import Distro, Inventory, Package
from hardbase.packages.osrelease import read_distro

CATALOGS: tuple[Catalog, ...] = (DpkgCatalog(), ApkCatalog())

__all__ = [
    "CATALOGS",
    "Catalog",
    "CatalogResult",
    "Distro",
    "Inventory",
    "Package",
    "read_inventory",
]


def read_inventory(fs: FilesystemView, *, files: bool = True) -> Inventory:
    """Read the distribution and every package database found in ``fs``.

    With ``files`` False the packages' file lists are not read, which saves most of the
    work for callers that need names, versions and licenses only (SBOMs).
    """
    packages: list[Package] = []
    databases: list[str] = []
    warnings: list[str] = []
    for catalog in CATALOGS:
        if catalog.applies(fs):
            result = catalog.read(fs, files=files)
            packages.extend(result.packages)
            databases.extend(result.databases)
            warnings.extend(result.warnings)
    packages.sort(key=lambda p: (p.name, p.architecture or "", p.version))
    return Inventory(read_distro(fs), tuple(packages), tuple(databases), tuple(warnings))
