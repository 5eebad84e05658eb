"""Alpine's secdb: one document per release and repository, JSON or the older YAML layout.

Both layouts hold the same content::

    distroversion: v3.10
    reponame: main
    packages:
      - pkg:
          name: ansible
          secfixes:
            2.8.4-r0:
              - CVE-2019-10206
            0:
              - CVE-2020-1234      # never affected

``secfixes`` maps the first fixed version to the ids it fixes; ``0`` means the
package was never affected. An id line may name several ids
(``CVE-2017-8904 XSA-214``) or carry a comment (``CVE-2019-15167 (VRRP)``). A
version apk cannot parse (``1.2.3.r0``) is skipped with a warning naming the record.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.advisories.sources import Feed, FeedError, FeedKind

__all__ = ["DEFAULT_RELEASES", "parse_document", "read", "secdb_url", "split_ids"]

logger = logging.getLogger(__name__)

SOURCE = "alpine-secdb"
DEFAULT_RELEASES = ("3.18", "3.19", "3.20", "3.21", "3.22")
DEFAULT_REPOSITORIES = ("main", "community")

# secdb files are a few MB at most; a larger one is not a secdb.
_MAX_BYTES = 64 * 1024 * 1024
_CVE = re.compile(r"CVE[-_ ]?(\d{4})-(\d{4,})")
_OTHER_ID = re.compile(r"^[A-Z][A-Z0-9]*-[0-9][\w.-]*$")
_RELEASE = re.compile(r"^v?(\d+\.\d+)$")


def secdb_url(release: str, repository: str) -> str:
    """Return the upstream URL of the JSON secdb of ``release`` (``3.20``) and ``repository``."""
    return f"https://secdb.alpinelinux.org/v{release}/{repository}.json"


def read(path: Path) -> Feed:
    """Parse the secdb document at ``path``.

    Raises:
        FeedError: when the file is not JSON or YAML, or lacks ``distroversion``
            or ``packages``.
    """
    if path.stat().st_size > _MAX_BYTES:
        raise FeedError(f"{path}: {path.stat().st_size} bytes is too large for an Alpine secdb")
    raw = path.read_bytes()
    document = _load(raw, path)
    skipped: list[str] = []
    name, advisories = parse_document(document, str(path), skipped)
    return Feed(FeedKind.ALPINE_SECDB, name, iter(advisories), skipped)


def _load(raw: bytes, path: Path) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FeedError(f"{path}: Alpine secdb is not UTF-8 ({error.reason})") from None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise FeedError(
                f"{path}: invalid or truncated Alpine secdb JSON: {error.msg} "
                f"at line {error.lineno}",
                hint="download it again",
            ) from None
        except RecursionError:
            raise FeedError(
                f"{path}: Alpine secdb JSON nests arrays or objects too deep",
                hint="download it again",
            ) from None
        except ValueError as error:
            # An integer past int()'s digit limit raises a plain ValueError, whose
            # advice after the ';' (raise the limit) is no fix for a feed.
            raise FeedError(
                f"{path}: invalid Alpine secdb JSON ({str(error).split(';')[0]})",
                hint="download it again",
            ) from None
    try:
        # BaseLoader keeps every scalar a string: "1.10" stays a version, not 1.1.
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - BaseLoader builds no objects
    except yaml.MarkedYAMLError as error:
        where = f" at line {error.problem_mark.line + 1}" if error.problem_mark else ""
        raise FeedError(
            f"{path}: invalid Alpine secdb YAML{where}: {error.problem or error.context}",
            hint="download it again",
        ) from None
    except yaml.YAMLError as error:
        raise FeedError(
            f"{path}: invalid Alpine secdb YAML: {error}".replace("\n", " "),
            hint="download it again",
        ) from None


class _NoAliasLoader(yaml.BaseLoader):
    """BaseLoader that rejects aliases, which a secdb never uses.

    Nested aliases ("billion laughs") make a few hundred bytes stand for
    billions of nodes, so walking or printing the loaded document never ends.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a secdb", event.start_mark
            )
        return super().compose_node(parent, index)


def parse_document(document: Any, name: str, skipped: list[str]) -> tuple[str, list[Advisory]]:
    """Return the store source name and the advisories of a loaded secdb document.

    Raises:
        FeedError: naming ``name`` when ``distroversion`` or ``packages`` is missing
            or of the wrong type.
    """
    if not isinstance(document, dict):
        raise FeedError(f"{name}: Alpine secdb must be a mapping with 'packages'")
    distroversion = document.get("distroversion")
    release_match = _RELEASE.match(distroversion) if isinstance(distroversion, str) else None
    if release_match is None:
        raise FeedError(
            f"{name}: Alpine secdb has no valid distroversion (found {distroversion!r})",
            hint="expected a value such as 'v3.20'",
        )
    release = release_match.group(1)
    repository = document.get("reponame")
    repository = repository if isinstance(repository, str) and repository else "main"
    packages = document.get("packages")
    if packages in (None, "", []):
        packages = []
    if not isinstance(packages, list):
        raise FeedError(f"{name}: Alpine secdb 'packages' must be a list")

    record = f"secdb v{release}/{repository}"
    advisories: list[Advisory] = []
    for entry in packages:
        advisories.extend(_package(entry, release, repository, record, skipped))
    return f"{SOURCE}/v{release}/{repository}", advisories


def _package(
    entry: Any, release: str, repository: str, record: str, skipped: list[str]
) -> Iterator[Advisory]:
    from hardbase.versions.apk import is_valid_apk

    pkg = entry.get("pkg") if isinstance(entry, dict) else None
    package = pkg.get("name") if isinstance(pkg, dict) else None
    if not isinstance(pkg, dict) or not isinstance(package, str) or not package:
        skipped.append(f"{record}: package entry without a name: {str(entry)[:80]!r}")
        return
    secfixes = pkg.get("secfixes") or {}
    if not isinstance(secfixes, dict):
        skipped.append(f"{record} {package}: secfixes is not a mapping")
        return

    for version, lines in secfixes.items():
        version = str(version).strip()
        if version != "0" and not is_valid_apk(version):
            skipped.append(f"{record} {package}: invalid version {version!r}")
            continue
        ids = [identifier for line in _lines(lines) for identifier in split_ids(line)]
        if not ids:
            skipped.append(f"{record} {package} {version}: no vulnerability ids")
            continue
        for vulnerability_id, aliases in ids:
            yield Advisory(
                source=SOURCE,
                vulnerability_id=vulnerability_id,
                distro="alpine",
                release=release,
                package=package,
                status=AdvisoryStatus.NOT_AFFECTED if version == "0" else AdvisoryStatus.FIXED,
                fixed_version=version,
                record=record,
                repository=repository,
                aliases=aliases,
            )


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    if isinstance(value, str):
        return [value]
    return []


def split_ids(line: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return ``(id, aliases)`` for each vulnerability one secdb id line names.

    ``CVE-2017-8904 XSA-214`` gives one CVE with the XSA as alias;
    ``CVE_2019-2426`` and ``CVE-2017-8073.patch`` give the CVE they spell;
    ``XSA-207`` alone gives the XSA; comments in parentheses are ignored.
    """
    text = re.sub(r"\([^)]*\)", " ", line)
    cves = [f"CVE-{year}-{number}" for year, number in _CVE.findall(text)]
    others = [token for token in text.split() if _OTHER_ID.match(token) and "CVE" not in token]
    if cves:
        return [(cve, tuple(others)) for cve in dict.fromkeys(cves)]
    if others:
        return [(others[0], tuple(others[1:]))]
    return []
