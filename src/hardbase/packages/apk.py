"""Read apk's database, ``lib/apk/db/installed``."""

from __future__ import annotations

import base64
import binascii
import logging

from hardbase.image.fs import FilesystemView
from hardbase.packages.catalog import Catalog, CatalogResult
from hardbase.packages.model import Package

logger = logging.getLogger(__name__)

INSTALLED = "/lib/apk/db/installed"
#: Alpine 3.21 and later may keep the database under /usr as well.
INSTALLED_USR = "/usr/lib/apk/db/installed"
MAX_INSTALLED_BYTES = 256 * 1024 * 1024


class ApkCatalog(Catalog):
    """Packages that apk installed."""

    ecosystem = "apk"

    def applies(self, fs: FilesystemView) -> bool:
        return fs.is_file(INSTALLED) or fs.is_file(INSTALLED_USR)

    def read(self, fs: FilesystemView) -> CatalogResult:
        path = INSTALLED if fs.is_file(INSTALLED) else INSTALLED_USR
        entry = fs.stat(path)
        if entry is not None and entry.size > MAX_INSTALLED_BYTES:
            return CatalogResult((), (path,), (f"{path}: larger than {MAX_INSTALLED_BYTES} bytes, not read",))
        text = fs.read_bytes(path).decode("utf-8", errors="replace")
        packages: list[Package] = []
        warnings: list[str] = []
        for number, block in enumerate(text.split("\n\n")):
            if not block.strip():
                continue
            package = parse_record(block, path)
            if package is None:
                warnings.append(f"{path}: record {number + 1} has no P: or V: line, skipped")
                continue
            packages.append(package)
        return CatalogResult(tuple(packages), (path,), tuple(warnings))


def parse_record(block: str, database: str) -> Package | None:
    """Build a Package from one blank-line separated record of the installed database."""
    fields: dict[str, str] = {}
    files: list[str] = []
    checksums: dict[str, str] = {}
    folder = ""
    last_file = ""
    for line in block.splitlines():
        if len(line) < 2 or line[1] != ":":
            continue
        key, value = line[0], line[2:]
        if key == "F":
            folder = value
        elif key == "R":
            last_file = f"/{folder}/{value}" if folder else f"/{value}"
            files.append(last_file)
        elif key == "Z" and last_file:
            checksums[last_file] = value
        elif key not in fields:
            fields[key] = value
    name, version = fields.get("P", ""), fields.get("V", "")
    if not name or not version:
        return None
    size = fields.get("I", "")
    extra = {k: fields[k] for k in ("c", "t", "C", "U") if k in fields}
    return Package(
        name=name,
        version=version,
        ecosystem="apk",
        architecture=fields.get("A") or None,
        source_name=fields.get("o") or name,
        source_version=version,
        files=tuple(files),
        licenses=(fields["L"],) if fields.get("L") else (),
        maintainer=fields.get("m"),
        homepage=fields.get("U"),
        description=fields.get("T"),
        installed_size=int(size) if size.isdigit() else None,
        depends=tuple(d for d in fields.get("D", "").split() if not d.startswith("!")),
        database=database,
        extra={**extra, **{f"Z:{path}": value for path, value in checksums.items()}},
    )


def decode_checksum(value: str) -> tuple[str, str] | None:
    """Return ``(algorithm, hex digest)`` for an apk ``Z:``/``C:`` value such as ``Q1...``."""
    if not value.startswith("Q1"):
        return None
    try:
        return "sha1", base64.b64decode(value[2:]).hex()
    except (binascii.Error, ValueError):
        return None
