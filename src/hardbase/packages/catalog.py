"""The catalog seam: each package manager's database reader implements Catalog."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from hardbase.image.fs import FilesystemView
from hardbase.packages.model import Package


@dataclass(frozen=True)
class CatalogResult:
    """Packages read by one catalog, the databases it read and what it skipped."""

    packages: tuple[Package, ...]
    databases: tuple[str, ...]
    warnings: tuple[str, ...] = ()


class Catalog(ABC):
    """Reader of one package manager's database inside an image."""

    ecosystem: str

    @abstractmethod
    def applies(self, fs: FilesystemView) -> bool:
        """Return True when the image contains this package manager's database."""

    @abstractmethod
    def read(self, fs: FilesystemView, *, files: bool = True) -> CatalogResult:
        """Read every package record of the database.

        With ``files`` False, ``Package.files`` stays empty and file lists are not read.
        """
