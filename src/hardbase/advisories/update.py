"""Updating the advisory store: download configured sources, or import local files.

Downloads use conditional requests (``If-None-Match``, ``If-Modified-Since``) with
the ETag and Last-Modified stored from the previous run, and retry server errors
and broken connections with exponential backoff. Every source is parsed into a
new store built beside the current one, which is renamed into place only when all
sources succeeded: a bad document or an interrupted run leaves the old store.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from hardbase import __version__
from hardbase.advisories.sources import Feed, FeedError, FeedKind, detect, read_feed
from hardbase.advisories.sources.alpine_secdb import (
    DEFAULT_RELEASES,
    DEFAULT_REPOSITORIES,
    secdb_url,
)
from hardbase.advisories.sources.debian_lists import DLA_URL, DSA_URL
from hardbase.advisories.sources.debian_tracker import DEFAULT_URL as TRACKER_URL
from hardbase.advisories.sources.osv import osv_url, record_files
from hardbase.advisories.store import SourceStatus, StoreWriter
from hardbase.errors import InputError, NetworkError

__all__ = [
    "ProgressHook",
    "SourceResult",
    "SourceSpec",
    "UpdateOptions",
    "default_sources",
    "import_files",
    "known_sources",
    "resolve_sources",
    "update",
]

logger = logging.getLogger(__name__)

#: Called with (source name, bytes done, bytes expected or None) while downloading.
ProgressHook = Callable[[str, int, int | None], None]

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceSpec:
    """One source that ``db update`` downloads."""

    name: str
    """Source name in the store."""
    url: str
    """``http(s)://`` or ``file://`` URL of the document."""
    kind: FeedKind | None = None
    """Expected format; None accepts whatever the content is detected as."""


@dataclass(frozen=True)
class UpdateOptions:
    """Network behaviour of ``db update``."""

    retries: int = 3
    """Further attempts after a failed one (server error, reset connection, time-out)."""
    backoff: float = 2.0
    """Seconds before the first retry; doubled before each further one."""
    timeout: float = 120.0
    """Seconds to wait for a connection or for data on it."""


@dataclass(frozen=True)
class SourceResult:
    """Outcome of one update or import for one source."""

    name: str
    url: str
    records: int
    """Number of advisories the store now contains from this source."""
    skipped: tuple[str, ...]
    """Messages for records the parser skipped."""
    not_modified: bool = False
    """True when the server or the checksum showed the data unchanged."""


def default_sources() -> list[SourceSpec]:
    """Return the sources ``db update`` downloads when none are named."""
    specs = [
        SourceSpec("debian-tracker", TRACKER_URL, FeedKind.DEBIAN_TRACKER),
        SourceSpec("debian-dsa", DSA_URL, FeedKind.DEBIAN_DSA),
        SourceSpec("debian-dla", DLA_URL, FeedKind.DEBIAN_DLA),
    ]
    for release in DEFAULT_RELEASES:
        for repository in DEFAULT_REPOSITORIES:
            specs.append(
                SourceSpec(
                    f"alpine-secdb/v{release}/{repository}",
                    secdb_url(release, repository),
                    FeedKind.ALPINE_SECDB,
                )
            )
    return specs


def known_sources() -> dict[str, SourceSpec]:
    """Return the default sources and the optional OSV ones, by name."""
    specs = default_sources()
    for ecosystem in ("Debian", "Ubuntu", "Alpine"):
        specs.append(SourceSpec(f"osv/{ecosystem}", osv_url(ecosystem), FeedKind.OSV))
    return {spec.name: spec for spec in specs}


def resolve_sources(requests: Sequence[str]) -> list[SourceSpec]:
    """Turn ``NAME`` or ``NAME=URL`` requests into sources; no requests gives the defaults.

    ``NAME`` alone must be a known source. ``NAME=URL`` changes a known source's URL
    (a mirror) or adds a new source whose format is detected from its content.

    Raises:
        InputError: for an unknown name without a URL, or a URL of another scheme.
    """
    if not requests:
        return default_sources()
    known = known_sources()
    specs: list[SourceSpec] = []
    for request in requests:
        name, _, url = request.partition("=")
        name = name.strip()
        if url:
            if urlparse(url).scheme not in ("http", "https", "file"):
                raise InputError(
                    f"--source {request}: unsupported URL", hint="use http://, https:// or file://"
                )
            base = known.get(name)
            specs.append(SourceSpec(name, url, base.kind if base else None))
        elif name in known:
            specs.append(known[name])
        else:
            raise InputError(
                f"--source {name}: unknown source",
                hint=f"use NAME=URL, or one of: {', '.join(sorted(known))}",
            )
    return specs


def update(
    sources: Iterable[SourceSpec],
    store_path: Path | None = None,
    options: UpdateOptions | None = None,
    progress: ProgressHook | None = None,
) -> list[SourceResult]:
    """Download ``sources`` and write them into the store at ``store_path``.

    Sources not named keep their records. The store changes only when every source
    succeeded.

    Raises:
        NetworkError: when a source cannot be downloaded after all retries.
        FeedError: naming the source and URL when a document is malformed or truncated.
        StoreLockedError: when another update is running.
    """
    options = options or UpdateOptions()
    results: list[SourceResult] = []
    headers = {"User-Agent": f"hardbase/{__version__}"}
    with (
        StoreWriter(store_path) as writer,
        tempfile.TemporaryDirectory(prefix="hardbase-update-") as scratch,
        httpx.Client(headers=headers, timeout=options.timeout, follow_redirects=True) as client,
    ):
        for index, spec in enumerate(sources):
            target = Path(scratch) / f"source-{index}"
            results.append(_update_one(spec, target, writer, client, options, progress))
        writer.commit()
    return results


def _update_one(
    spec: SourceSpec,
    target: Path,
    writer: StoreWriter,
    client: httpx.Client,
    options: UpdateOptions,
    progress: ProgressHook | None,
) -> SourceResult:
    previous = writer.previous.get(spec.name)
    logger.info("updating %s from %s", spec.name, spec.url)
    download = _download(spec, target, previous, client, options, progress)
    now = datetime.now(UTC)
    if download is None or (previous is not None and download.sha256 == previous.sha256):
        assert previous is not None
        writer.touch_source(spec.name, now)
        logger.info("%s: not modified", spec.name)
        return SourceResult(spec.name, spec.url, previous.records, (), not_modified=True)

    feed = _open_feed(target, spec.kind, f"source {spec.name} ({spec.url})")
    status = SourceStatus(
        name=spec.name,
        kind=feed.kind.value,
        url=spec.url,
        records=0,
        skipped=0,
        fetched_at=now,
        etag=download.etag,
        last_modified=download.last_modified,
        sha256=download.sha256,
    )
    return _store_feed(feed, status, writer, target, f"source {spec.name} ({spec.url})")


def _open_feed(path: Path, kind: FeedKind | None, label: str) -> Feed:
    try:
        detected = detect(path)
        if kind is not None and detected is not kind:
            raise FeedError(
                f"{path}: expected {kind.value} content, found {detected.value}",
                hint="check the source URL",
            )
        return read_feed(path, detected)
    except FeedError as error:
        raise _relabel(error, path, label) from None


def _store_feed(
    feed: Feed, status: SourceStatus, writer: StoreWriter, path: Path, label: str
) -> SourceResult:
    # The skipped count is known only once the parser has run, so the status row
    # is written again after the records.
    try:
        records = writer.replace_source(status, feed.advisories)
    except FeedError as error:
        raise _relabel(error, path, label) from None
    final = SourceStatus(**{**status.__dict__, "records": records, "skipped": len(feed.skipped)})
    writer.replace_status(final)
    _log_skipped(status.name, feed.skipped)
    logger.info("%s: %d advisories, %d skipped", status.name, records, len(feed.skipped))
    return SourceResult(status.name, status.url, records, tuple(feed.skipped))


def _relabel(error: FeedError, path: Path, label: str) -> FeedError:
    message = error.message.replace(str(path), label)
    if label not in message:
        message = f"{label}: {message}"
    return FeedError(message, hint=error.hint)


def _log_skipped(name: str, skipped: list[str]) -> None:
    for message in skipped[:20]:
        logger.warning("%s: skipped %s", name, message)
    if len(skipped) > 20:
        logger.warning("%s: skipped %d more records", name, len(skipped) - 20)


@dataclass(frozen=True)
class _Download:
    sha256: str
    etag: str | None
    last_modified: str | None


def _download(
    spec: SourceSpec,
    target: Path,
    previous: SourceStatus | None,
    client: httpx.Client,
    options: UpdateOptions,
    progress: ProgressHook | None,
) -> _Download | None:
    """Fetch ``spec.url`` into ``target``; return None when the server responds 304."""
    parsed = urlparse(spec.url)
    if parsed.scheme == "file":
        source = Path(unquote(parsed.path))
        if not source.is_file():
            raise InputError(f"source {spec.name}: {source} not found", hint="check the file URL")
        shutil.copyfile(source, target)
        return _Download(_sha256(target), None, None)

    headers: dict[str, str] = {}
    if previous is not None and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous is not None and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified

    attempts = options.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _fetch(spec, target, headers, client, progress)
        except _RetryableError as error:
            if attempt == attempts:
                raise NetworkError(
                    f"source {spec.name}: {spec.url} failed after {attempts} attempts: {error}",
                    hint="check the network or the source URL, then run `hardbase db update` again",
                ) from None
            delay = options.backoff * 2 ** (attempt - 1)
            logger.warning(
                "source %s: %s; retrying in %.1f s (attempt %d of %d)",
                spec.name,
                error,
                delay,
                attempt + 1,
                attempts,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


class _RetryableError(Exception):
    """A failure worth another attempt: a 5xx or 429 response, a reset, a time-out."""


def _fetch(
    spec: SourceSpec,
    target: Path,
    headers: dict[str, str],
    client: httpx.Client,
    progress: ProgressHook | None,
) -> _Download | None:
    digest = hashlib.sha256()
    try:
        with client.stream("GET", spec.url, headers=headers) as response:
            if response.status_code == httpx.codes.NOT_MODIFIED and headers:
                return None
            if response.status_code >= 500 or response.status_code == 429:
                raise _RetryableError(f"HTTP {response.status_code}")
            if response.status_code != httpx.codes.OK:
                raise NetworkError(
                    f"source {spec.name}: {spec.url} returned HTTP {response.status_code}",
                    hint="check the source URL",
                )
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            with target.open("wb") as handle:
                for chunk in response.iter_bytes(_CHUNK_BYTES):
                    handle.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(spec.name, done, total)
            return _Download(
                digest.hexdigest(),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
    except httpx.TransportError as error:
        raise _RetryableError(f"{type(error).__name__}: {error}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _feed_files(path: Path) -> list[Path]:
    """Return the feeds that ``path`` contains.

    A folder whose files are each a feed of their own (Alpine secdb files per
    release, DSA and DLA lists) is imported file by file. Any other folder is
    one feed of OSV records.
    """
    if not path.is_dir():
        return [path]
    kinds: dict[Path, FeedKind] = {}
    for file in sorted(path.rglob("*")):
        if file.is_symlink() or not file.is_file():
            continue
        try:
            kinds[file] = detect(file)
        except FeedError:
            continue
    if kinds and all(kind is not FeedKind.OSV for kind in kinds.values()):
        return list(kinds)
    return [path]


def import_files(paths: Iterable[Path], store_path: Path | None = None) -> list[SourceResult]:
    """Import local feed files or folders into the store, each detected by content.

    Each file replaces the records of the source it contains (``debian-tracker``,
    ``alpine-secdb/v3.20/main``, ``osv/<file name>``, ...). The store changes only
    when every file was read.

    Raises:
        FeedError: naming the file when its format is unknown or it is malformed.
        StoreLockedError: when another update is running.
    """
    results: list[SourceResult] = []
    expanded = [file for path in paths for file in _feed_files(path)]
    with StoreWriter(store_path) as writer:
        for path in expanded:
            label = str(path)
            feed = _open_feed(path, None, label)
            status = SourceStatus(
                name=feed.name,
                kind=feed.kind.value,
                url=str(path.resolve()),
                records=0,
                skipped=0,
                fetched_at=datetime.now(UTC),
                sha256=_sha256(path) if path.is_file() else _folder_sha256(path),
            )
            logger.info("importing %s as %s", path, feed.name)
            results.append(_store_feed(feed, status, writer, path, label))
        writer.commit()
    return results


def _folder_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    # The files the OSV reader takes, so a FIFO or a link to a device is never read.
    for file in record_files(folder):
        digest.update(str(file.relative_to(folder)).encode())
        digest.update(_sha256(file).encode())
    return digest.hexdigest()
