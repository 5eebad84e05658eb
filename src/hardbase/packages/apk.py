"""Read apk's database, ``lib/apk/db/installed``.

The database is a list of records separated by blank lines, one ``X:value``
line per field (apk-tools' "installed database" format): ``P`` name, ``V``
version, ``A`` architecture, ``o`` origin (the source package), ``L``
license, ``D`` dependencies, ``p`` provides, ``F``/``R`` folders and files.
Every record is an installed package; apk keeps no removed ones.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re

from hardbase.image.fs import FilesystemView
from hardbase.packages.catalog import Catalog, CatalogResult
from hardbase.packages.model import Package, parse_size

logger = logging.getLogger(__name__)

INSTALLED = "/lib/apk/db/installed"
#: Alpine 3.21 and later may keep the database under /usr as well.
INSTALLED_USR = "/usr/lib/apk/db/installed"
MAX_INSTALLED_BYTES = 256 * 1024 * 1024

#: Start of the version constraint in a dependency or provides entry (``musl>=1.2``).
_CONSTRAINT = re.compile(r"[<>=~@]")
#: An ``L:`` value written as an SPDX expression rather than a space-separated list.
_EXPRESSION = re.compile(r"\b(AND|OR|WITH)\b|[()]")


class ApkCatalog(Catalog):
    """Packages that apk installed."""

    ecosystem = "apk"

    def applies(self, fs: FilesystemView) -> bool:
        return fs.is_file(INSTALLED) or fs.is_file(INSTALLED_USR)

    def read(self, fs: FilesystemView, *, files: bool = True) -> CatalogResult:
        path = INSTALLED if fs.is_file(INSTALLED) else INSTALLED_USR
        entry = fs.stat(path)
        if entry is not None and entry.size > MAX_INSTALLED_BYTES:
            warning = f"{path}: larger than {MAX_INSTALLED_BYTES} bytes, not read"
            return CatalogResult((), (path,), (warning,))
        text = fs.read_bytes(path).decode("utf-8", errors="replace")
        packages: list[Package] = []
        warnings: list[str] = []
        for number, block in enumerate(text.split("\n\n"), start=1):
            if not block.strip():
                continue
            package = parse_record(block, path, files=files)
            if package is None:
                warnings.append(f"{path}: record {number} has no P: or V: line, skipped")
                continue
            packages.append(package)
        return CatalogResult(tuple(packages), (path,), tuple(warnings))


def parse_record(block: str, database: str, *, files: bool = True) -> Package | None:
    """Build a Package from one blank-line separated record, or None without ``P:`` or ``V:``.

    With ``files`` False the record's ``F:``/``R:`` file list and checksums are skipped.
    """
    fields: dict[str, str] = {}
    paths: list[str] = []
    checksums: dict[str, str] = {}
    folder = ""
    last_file = ""
    for line in block.splitlines():
        if len(line) < 2 or line[1] != ":":
            continue
        key, value = line[0], line[2:]
        if not files and key in ("F", "R", "Z"):
            continue
        if key == "F":
            folder = value
        elif key == "R":
            last_file = f"/{folder}/{value}" if folder else f"/{value}"
            paths.append(last_file)
        elif key == "Z" and last_file:
            checksums[last_file] = value
        elif key not in fields:
            fields[key] = value
    name, version = fields.get("P", ""), fields.get("V", "")
    if not name or not version:
        return None

    size = fields.get("I", "")
    extra: dict[str, str] = {k: fields[k] for k in ("c", "t", "C", "U") if k in fields}
    return Package(
        name=name,
        version=version,
        ecosystem="apk",
        architecture=fields.get("A") or None,
        # The origin names the APKBUILD that built the package, and apk records no source version.
        source_name=fields.get("o") or name,
        source_version=version,
        files=tuple(paths),
        licenses=split_licenses(fields.get("L", "")),
        maintainer=fields.get("m") or None,
        homepage=fields.get("U") or None,
        description=fields.get("T") or None,
        installed_size=parse_size(size),
        depends=_names(fields.get("D", ""), skip_conflicts=True),
        provides=_names(fields.get("p", ""), skip_conflicts=False),
        database=database,
        extra={**extra, **{f"Z:{path}": value for path, value in checksums.items()}},
    )


def split_licenses(value: str) -> tuple[str, ...]:
    """Split an ``L:`` value into licenses: ``GPL LGPL`` gives two, an SPDX expression one."""
    value = value.strip()
    if not value:
        return ()
    if _EXPRESSION.search(value):
        return (value,)
    return tuple(dict.fromkeys(value.split()))


def _names(value: str, *, skip_conflicts: bool) -> tuple[str, ...]:
    names: list[str] = []
    for word in value.split():
        if word.startswith("!"):
            # "!name" is a conflict, not a dependency.
            if skip_conflicts:
                continue
            word = word[1:]
        name = _CONSTRAINT.split(word, maxsplit=1)[0]
        if name and name not in names:
            names.append(name)
    return tuple(names)


def decode_checksum(value: str) -> tuple[str, str] | None:
    """Return ``(algorithm, hex digest)`` for an apk ``Z:``/``C:`` value such as ``Q1...``."""
    if not value.startswith("Q1"):
        return None
    try:
        return "sha1", base64.b64decode(value[2:]).hex()
    except (binascii.Error, ValueError):
        return None
