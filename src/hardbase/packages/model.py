"""Package and distribution records read from an image."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Distro:
    """The operating system release an image is built from, read from os-release."""

    id: str
    """os-release ``ID``: ``debian``, ``ubuntu``, ``alpine``, ..."""
    version_id: str | None = None
    codename: str | None = None
    """Release codename (``bookworm``, ``jammy``); None for Alpine and unknown ones."""
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()

    @property
    def family(self) -> str | None:
        """``debian`` for Debian and its derivatives, ``alpine`` for Alpine, else None."""
        if self.id in ("debian", "alpine"):
            return self.id
        if "debian" in self.id_like or "ubuntu" in self.id_like or self.id == "ubuntu":
            return "debian"
        if "alpine" in self.id_like:
            return "alpine"
        return None

    @property
    def release(self) -> str | None:
        """The release that advisories are keyed by: a codename, or Alpine's ``MAJOR.MINOR``."""
        if self.id == "alpine" or (self.family == "alpine" and self.version_id):
            if not self.version_id:
                return None
            parts = self.version_id.split(".")
            return ".".join(parts[:2])
        return self.codename or self.version_id


@dataclass(frozen=True)
class Package:
    """One package recorded in an image's package database."""

    name: str
    version: str
    ecosystem: str
    """``deb`` or ``apk``."""
    architecture: str | None = None
    source_name: str = ""
    """Source package (dpkg ``Source:``, apk ``o:`` origin); the package's own name if unset."""
    source_version: str = ""
    """Version of the source package, which differs from ``version`` after a binNMU."""
    state: str = "installed"
    """``installed`` for a package whose files are in place, else the package manager's state
    (dpkg: ``config-files``, ``half-configured``, ``unpacked``, ...)."""
    selection: str | None = None
    """dpkg's selection state: ``install``, ``hold``, ``deinstall`` or ``purge``."""
    files: tuple[str, ...] = ()
    """Installed paths owned by the package, absolute."""
    licenses: tuple[str, ...] = ()
    maintainer: str | None = None
    homepage: str | None = None
    description: str | None = None
    installed_size: int | None = None
    """Installed size in bytes, when recorded."""
    depends: tuple[str, ...] = ()
    """Names of the packages this one depends on, as recorded (no versions)."""
    database: str = ""
    """Path of the database file the record came from."""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Other fields of the record that a consumer may want (apk ``c:`` commit, ...)."""

    @property
    def is_installed(self) -> bool:
        return self.state == "installed"


@dataclass(frozen=True)
class Inventory:
    """Everything the package catalogs found in one image."""

    distro: Distro | None
    packages: tuple[Package, ...]
    databases: tuple[str, ...] = ()
    """Paths of the package databases read."""
    warnings: tuple[str, ...] = ()

    @property
    def installed(self) -> tuple[Package, ...]:
        return tuple(p for p in self.packages if p.is_installed)
