"""Package and distribution records read from an image."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: An unsigned decimal integer that fits in 64 bits, as package databases write sizes.
_SIZE = re.compile(r"[0-9]{1,19}")


def parse_size(text: str) -> int | None:
    """Return the integer a package database's size field holds, or None when it is invalid.

    ``str.isdigit`` accepts characters such as ``²`` that ``int`` rejects, and
    ``int`` rejects strings of more than 4300 digits, so both are checked here.
    """
    return int(text) if _SIZE.fullmatch(text) else None


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


#: Package states whose files are unpacked in the image, even if not fully configured.
#: ``half-installed`` is kept: dpkg may have unpacked part of the files before it stopped.
FILES_PRESENT_STATES = frozenset(
    {
        "installed",
        "triggers-awaited",
        "triggers-pending",
        "half-configured",
        "unpacked",
        "half-installed",
    }
)


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
    """``installed`` for a package that is unpacked and configured, else the package manager's
    state (dpkg: ``config-files``, ``half-configured``, ``unpacked``, ``not-installed``, ...;
    ``unknown`` when the record has no usable status)."""
    selection: str | None = None
    """dpkg's selection state: ``install``, ``hold``, ``deinstall``, ``purge`` or ``unknown``."""
    files: tuple[str, ...] = ()
    """Installed paths owned by the package, absolute."""
    licenses: tuple[str, ...] = ()
    """License names as the package records them (DEP-5 short names, apk ``L:``), unnormalized."""
    maintainer: str | None = None
    homepage: str | None = None
    description: str | None = None
    installed_size: int | None = None
    """Installed size in bytes, when recorded."""
    depends: tuple[str, ...] = ()
    """Names of the packages, virtual packages or apk provides (``so:libc.musl-x86_64.so.1``)
    this one depends on, as recorded, without version constraints or alternatives grouping."""
    provides: tuple[str, ...] = ()
    """Names this package provides besides its own (dpkg ``Provides``, apk ``p:``), unversioned."""
    database: str = ""
    """Path of the database file the record came from."""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Other fields of the record that a consumer may want (apk ``c:`` commit, ...)."""

    @property
    def is_installed(self) -> bool:
        """True for a package that is unpacked and configured (dpkg ``ii`` and ``hi``)."""
        return self.state == "installed"

    @property
    def files_present(self) -> bool:
        """True when the package's files are in the image, configured or not.

        False for ``config-files`` (only configuration files remain), ``not-installed``
        and ``unknown``.
        """
        return self.state in FILES_PRESENT_STATES


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
        """The packages that are unpacked and configured."""
        return tuple(p for p in self.packages if p.is_installed)

    @property
    def present(self) -> tuple[Package, ...]:
        """The packages whose files are in the image, including half-configured ones."""
        return tuple(p for p in self.packages if p.files_present)
