"""OSV records of the Debian, Ubuntu and Alpine ecosystems, from a zip or a folder.

A record is ``{"id", "aliases", "upstream", "summary", "details", "affected": [...]}``;
each ``affected`` entry names a package with an ecosystem such as ``Debian:12``,
``Ubuntu:22.04:LTS``, ``Ubuntu:Pro:18.04:LTS`` or ``Alpine:v3.20``, and ranges of
type ``ECOSYSTEM`` whose events open (``introduced``) and close (``fixed``) an
affected span. Each closed span becomes a fixed advisory, a span left open an open
one. Records of other ecosystems are ignored.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.advisories.sources import Feed, FeedError, FeedKind
from hardbase.packages.osrelease import DEBIAN_CODENAMES, UBUNTU_CODENAMES

__all__ = [
    "DEBIAN_CODENAMES",
    "UBUNTU_CODENAMES",
    "osv_url",
    "parse_record",
    "read",
    "record_files",
]

logger = logging.getLogger(__name__)

SOURCE = "osv"


# One OSV record is a few kB; the largest real ones are below 1 MB.
_MAX_RECORD_BYTES = 16 * 1024 * 1024
_ALPINE_RELEASE = re.compile(r"^v(\d+\.\d+)$")


def osv_url(ecosystem: str) -> str:
    """Return the OSV bucket URL of the zip of all records of ``ecosystem`` (``Debian``)."""
    return f"https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip"


def read(path: Path) -> Feed:
    """Open the OSV zip or folder at ``path``; records are read as advisories are consumed.

    Raises:
        FeedError: when a zip is damaged or a record is not valid JSON (while the
            advisories are consumed).
    """
    skipped: list[str] = []
    name = f"{SOURCE}/{path.stem}"
    return Feed(FeedKind.OSV, name, _advisories(path, skipped), skipped)


def _advisories(path: Path, skipped: list[str]) -> Iterator[Advisory]:
    for member, raw in _documents(path, skipped):
        where = f"{path}:{member}" if path.is_file() else member
        try:
            record = json.loads(raw)
        except ValueError as error:
            # JSONDecodeError, UnicodeDecodeError, or an integer past int()'s digit limit,
            # whose advice after the ';' (raise the limit) is no fix for a feed.
            raise FeedError(
                f"{where}: invalid or truncated OSV JSON ({str(error).split(';')[0]})",
                hint="download it again",
            ) from None
        except RecursionError:
            raise FeedError(
                f"{where}: OSV JSON nests arrays or objects too deep", hint="download it again"
            ) from None
        yield from parse_record(record, where, skipped)


def _documents(path: Path, skipped: list[str]) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for file in record_files(path):
            yield str(file), _read_limited(file)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > _MAX_RECORD_BYTES:
                    skipped.append(f"{path}:{info.filename}: {info.file_size} bytes is too large")
                    continue
                with archive.open(info) as member:
                    yield info.filename, member.read(_MAX_RECORD_BYTES + 1)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise FeedError(f"{path}: damaged OSV zip ({error})", hint="download it again") from None
    except (NotImplementedError, RuntimeError) as error:
        # zipfile raises these for an unsupported compression method or an encrypted member.
        raise FeedError(
            f"{path}: unreadable OSV zip ({error})",
            hint="use the unencrypted, deflate-compressed all.zip that OSV publishes",
        ) from None


def record_files(folder: Path) -> list[Path]:
    """Return the ``*.json`` regular files below ``folder``, sorted; links are left out.

    A link or a FIFO named ``*.json`` could lead to ``/dev/zero`` or block a
    reader forever, so only regular files are taken.
    """
    return sorted(
        file for file in folder.rglob("*.json") if file.is_file() and not file.is_symlink()
    )


def _read_limited(file: Path) -> bytes:
    with file.open("rb") as handle:
        data = handle.read(_MAX_RECORD_BYTES + 1)
    if len(data) > _MAX_RECORD_BYTES:
        raise FeedError(f"{file}: larger than {_MAX_RECORD_BYTES} bytes, not an OSV record")
    return data


def parse_record(record: Any, where: str, skipped: list[str]) -> Iterator[Advisory]:
    """Yield the advisories of one OSV record for the ecosystems hardbase scans."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        skipped.append(f"{where}: not an OSV record (no 'id')")
        return
    record_id = record["id"]
    affected = record.get("affected")
    if not isinstance(affected, list):
        skipped.append(f"{where} {record_id}: no 'affected' list")
        return
    ids = _vulnerability_ids(record)
    aliases = tuple(_strings(record.get("aliases")))
    description = _text(record.get("summary")) or _text(record.get("details"))

    for entry in affected:
        if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
            skipped.append(f"{record_id}: affected entry without a package")
            continue
        package = entry["package"]
        target = _release(package.get("ecosystem"), record_id, skipped)
        name = package.get("name")
        if target is None:
            continue
        if not isinstance(name, str) or not name:
            skipped.append(f"{record_id}: affected package without a name")
            continue
        distro, release = target
        urgency = _urgency(entry, record)
        for introduced, fixed in _spans(entry, record_id, skipped):
            for vulnerability_id in ids:
                yield Advisory(
                    source=SOURCE,
                    vulnerability_id=vulnerability_id,
                    distro=distro,
                    release=release,
                    package=name,
                    status=AdvisoryStatus.FIXED if fixed else AdvisoryStatus.OPEN,
                    fixed_version=fixed,
                    introduced_version=None if introduced in (None, "0") else introduced,
                    urgency=urgency,
                    record=record_id,
                    description=description,
                    aliases=tuple(a for a in (record_id, *aliases) if a != vulnerability_id),
                )


def _vulnerability_ids(record: dict[str, Any]) -> list[str]:
    record_id: str = record["id"]
    if record_id.startswith("CVE-"):
        return [record_id]
    named = [
        value
        for key in ("upstream", "aliases", "related")
        for value in _strings(record.get(key))
        if value.startswith("CVE-")
    ]
    return list(dict.fromkeys(named)) or [record_id]


def _release(ecosystem: Any, record_id: str, skipped: list[str]) -> tuple[str, str] | None:
    if not isinstance(ecosystem, str):
        return None
    parts = ecosystem.split(":")
    family = parts[0]
    if family == "Debian" and len(parts) >= 2:
        codename = DEBIAN_CODENAMES.get(parts[1])
        if codename is None:
            skipped.append(f"{record_id}: unknown Debian release in ecosystem {ecosystem!r}")
            return None
        return "debian", codename
    if family == "Ubuntu" and len(parts) >= 2:
        numbers = [part for part in parts[1:] if re.match(r"^\d+\.\d+$", part)]
        codename = UBUNTU_CODENAMES.get(numbers[0]) if numbers else None
        if codename is None:
            skipped.append(f"{record_id}: unknown Ubuntu release in ecosystem {ecosystem!r}")
            return None
        return "ubuntu", codename
    if family == "Alpine" and len(parts) >= 2:
        match = _ALPINE_RELEASE.match(parts[1])
        if match is None:
            skipped.append(f"{record_id}: unknown Alpine release in ecosystem {ecosystem!r}")
            return None
        return "alpine", match.group(1)
    return None


def _spans(
    entry: dict[str, Any], record_id: str, skipped: list[str]
) -> Iterator[tuple[str | None, str | None]]:
    """Yield ``(introduced, fixed)`` for each span of the ECOSYSTEM ranges; fixed None is open."""
    ranges = [r for r in entry.get("ranges") or [] if isinstance(r, dict)]
    ecosystem_ranges = [r for r in ranges if r.get("type") == "ECOSYSTEM"]
    if not ecosystem_ranges:
        skipped.append(f"{record_id}: {entry['package'].get('name')} has no ECOSYSTEM range")
        return
    for version_range in ecosystem_ranges:
        introduced: str | None = None
        opened = False
        for event in version_range.get("events") or []:
            if not isinstance(event, dict):
                continue
            if isinstance(event.get("introduced"), str):
                introduced, opened = event["introduced"], True
            elif isinstance(event.get("fixed"), str) and opened:
                yield introduced, event["fixed"]
                opened = False
            elif "last_affected" in event:
                # NOTE: the advisory model has no "last affected" bound, so such a
                # span is reported as skipped instead of guessed as fixed or open.
                skipped.append(f"{record_id}: last_affected ranges are not supported")
                opened = False
        if opened:
            yield introduced, None


def _urgency(entry: dict[str, Any], record: dict[str, Any]) -> str | None:
    for holder in (entry.get("ecosystem_specific"), entry.get("database_specific")):
        if isinstance(holder, dict):
            for key in ("urgency", "ubuntu_priority", "severity"):
                if isinstance(holder.get(key), str):
                    return str(holder[key])
    specific = record.get("database_specific")
    if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
        return str(specific["severity"])
    return None


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
