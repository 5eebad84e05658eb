"""Fetch, verify and cache the Debian archive's signed indices: InRelease and Packages.

The chain of trust follows APT's. ``InRelease`` is verified with gpgv against a
keyring, and the Release fields are read only from the content that gpgv wrote.
The Release lists the SHA256 and size of every ``Packages`` index, and an index
is used only once its bytes match both. Indices are cached by that hash, so a
cached file is as trustworthy as the Release that named it.

Ubuntu archives have the same layout, but this module has not been run against a
live Ubuntu archive because only the Debian archive is reachable where it was
written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import lzma
import posixpath
import re
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import platformdirs
from debian.deb822 import Release as Deb822Release

import hardbase
from hardbase.errors import InputError, NetworkError, VerificationError
from hardbase.tools.gpgv import verify_clearsigned_detailed

logger = logging.getLogger(__name__)

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")

UBUNTU_MIRROR = "http://archive.ubuntu.com/ubuntu"
UBUNTU_SECURITY_MIRROR = "http://security.ubuntu.com/ubuntu"
UBUNTU_KEYRING = Path("/usr/share/keyrings/ubuntu-archive-keyring.gpg")

#: Largest InRelease accepted; Debian's main suite signs about 150 kB.
MAX_INRELEASE_BYTES = 16 * 1024 * 1024
#: Largest uncompressed Packages index accepted when the Release lists no plain size.
MAX_INDEX_BYTES = 1024 * 1024 * 1024

#: Index compressions in order of preference: the smallest download first.
_COMPRESSIONS = (".xz", ".gz", "")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_INDEX_NAME = re.compile(r"^[A-Za-z0-9._+~-]+(?:/[A-Za-z0-9._+~-]+)*$")
_PARAGRAPH_SEPARATOR = re.compile(rb"\n[ \t]*\n")
_FIELD = re.compile(rb"^(Package|Version|Architecture|Source):[ \t]*([^\n]*?)[ \t\r]*$", re.M)
_PARSED_HEADER = "# hardbase parsed Packages index v1"

VersionCompare = Callable[[str, str], int]
_T = TypeVar("_T")


class MissingFileError(NetworkError):
    """The mirror has no such file: it returned HTTP 404 or 410."""


# ----------------------------------------------------------------------------- models


@dataclass(frozen=True)
class IndexFile:
    """One file listed in a Release's ``SHA256`` field."""

    name: str
    """Path relative to the suite folder: ``main/binary-amd64/Packages.xz``."""
    sha256: str
    size: int


@dataclass(frozen=True)
class Release:
    """The verified Release data of one suite."""

    suite: str
    """The suite requested, as in the URL: ``bookworm-security``."""
    url: str
    """URL of the InRelease file."""
    codename: str | None
    date: dt.datetime | None
    valid_until: dt.datetime | None
    acquire_by_hash: bool
    architectures: tuple[str, ...]
    components: tuple[str, ...]
    files: Mapping[str, IndexFile]
    """``SHA256`` entries keyed by name."""
    signed_by: tuple[str, ...]
    """Primary key fingerprints of the signatures that verified."""
    from_cache: bool
    """True when the InRelease came from the cache (offline, or the mirror returned 304)."""

    @property
    def base_url(self) -> str:
        """URL of the suite folder, ending with a slash."""
        return self.url.rsplit("/", 1)[0] + "/"


@dataclass(frozen=True)
class IndexEntry:
    """A Packages index record for one binary package and architecture."""

    version: str
    source: str
    """Source package name (the binary's own name when the index has no ``Source``)."""


@dataclass(frozen=True)
class PackagesIndex:
    """A verified Packages index, reduced to the fields a pending-update check needs."""

    url: str
    sha256: str
    """SHA256 of the file as downloaded (compressed), as listed in the signed Release."""
    entries: Mapping[tuple[str, str], IndexEntry]
    """Highest version per ``(package, architecture)``."""


# ----------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """Return the archive cache folder under the user's cache folder."""
    return Path(platformdirs.user_cache_dir("hardbase")) / "archive"


class ArchiveCache:
    """Files kept between scans: InRelease per suite, indices by hash, parsed indices.

    Layout under ``root``::

        inrelease/<mirror>/<suite>/InRelease       last InRelease that verified
        inrelease/<mirror>/<suite>/InRelease.json  its ETag and Last-Modified
        by-hash/<sha256>                           Packages indices as downloaded
        parsed/<sha256>.tsv                        (package, architecture, version, source)

    Each file is written beside its final name and then renamed, so a reader
    never sees half a file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def inrelease_path(self, mirror: str, suite: str) -> Path:
        return self.root / "inrelease" / _mirror_key(mirror) / suite / "InRelease"

    def read_inrelease(self, mirror: str, suite: str) -> tuple[bytes, dict[str, str]] | None:
        """Return the cached InRelease and its HTTP validators, or None when not cached."""
        path = self.inrelease_path(mirror, suite)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        validators: dict[str, str] = {}
        with contextlib.suppress(FileNotFoundError, ValueError):
            loaded = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                validators = {k: v for k, v in loaded.items() if isinstance(v, str)}
        return data, validators

    def write_inrelease(
        self, mirror: str, suite: str, data: bytes, validators: Mapping[str, str]
    ) -> None:
        path = self.inrelease_path(mirror, suite)
        _write_atomic(path, data)
        _write_atomic(path.with_suffix(".json"), json.dumps(dict(validators)).encode())

    def index_path(self, sha256: str) -> Path:
        return self.root / "by-hash" / sha256

    def parsed_path(self, sha256: str) -> Path:
        return self.root / "parsed" / f"{sha256}.tsv"

    def read_parsed(self, sha256: str) -> dict[tuple[str, str], IndexEntry] | None:
        """Return the parsed entries of the index with this hash, or None when absent or damaged."""
        path = self.parsed_path(sha256)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        lines = text.split("\n")
        if lines[0] != f"{_PARSED_HEADER} {sha256}" or lines[-1] != "":
            logger.warning("ignoring damaged parsed index %s", path)
            return None
        entries: dict[tuple[str, str], IndexEntry] = {}
        for line in lines[1:-1]:
            fields = line.split("\t")
            if len(fields) != 4:
                logger.warning("ignoring damaged parsed index %s", path)
                return None
            entries[(fields[0], fields[1])] = IndexEntry(fields[2], fields[3])
        return entries

    def write_parsed(self, sha256: str, entries: Mapping[tuple[str, str], IndexEntry]) -> None:
        lines = [f"{_PARSED_HEADER} {sha256}"]
        lines.extend(
            f"{name}\t{arch}\t{entry.version}\t{entry.source}"
            for (name, arch), entry in sorted(entries.items())
        )
        _write_atomic(self.parsed_path(sha256), ("\n".join(lines) + "\n").encode())


def _mirror_key(mirror: str) -> str:
    """Return a folder name for a mirror URL: readable, and distinct for distinct URLs."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", mirror.split("://", 1)[-1]).strip("_")
    digest = hashlib.sha256(mirror.encode()).hexdigest()[:8]
    return f"{readable[:80]}-{digest}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        out.write(data)
        partial = Path(out.name)
    try:
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class _Response:
    status: int
    content: bytes
    headers: Mapping[str, str]


class ArchiveClient:
    """HTTP access to an archive mirror with timeouts, retries and size limits."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            headers={"User-Agent": f"hardbase/{hardbase.__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ArchiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, headers: Mapping[str, str], max_bytes: int) -> _Response:
        """GET ``url`` into memory; a 304 response is returned like any other.

        Raises:
            MissingFileError: the mirror returned 404 or 410.
            NetworkError: the mirror could not be reached after the retries.
        """

        def attempt() -> _Response:
            with self._client.stream("GET", url, headers=dict(headers)) as response:
                _check_status(response, url)
                too_large = VerificationError(f"{url} is larger than {max_bytes} bytes")
                content = b"".join(_limited(response.iter_bytes(), max_bytes, too_large))
                return _Response(response.status_code, content, dict(response.headers))

        return self._retry(url, attempt)

    def download(self, url: str, destination: IO[bytes], *, size: int) -> str:
        """Stream ``url`` into ``destination``, stopping past ``size`` bytes; return its SHA256."""

        too_large = VerificationError(
            f"{url} does not match the signed Release: larger than {size} bytes",
            hint="the mirror is inconsistent or tampered with; retry or use another mirror",
        )

        def attempt() -> str:
            destination.seek(0)
            destination.truncate()
            digest = hashlib.sha256()
            with self._client.stream("GET", url) as response:
                _check_status(response, url)
                for chunk in _limited(response.iter_bytes(), size, too_large):
                    digest.update(chunk)
                    destination.write(chunk)
            return digest.hexdigest()

        return self._retry(url, attempt)

    def _retry(self, url: str, operation: Callable[[], _T]) -> _T:
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except (httpx.TransportError, _RetryableStatusError) as error:
                reason = str(error) or type(error).__name__
                if attempt == self.attempts:
                    raise NetworkError(
                        f"cannot fetch {url}: {reason} (after {attempt} attempts)",
                        hint="check the network and the mirror URL, or scan with --offline",
                    ) from error
                logger.info("fetching %s failed (%s), retrying", url, reason)
            time.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


class _RetryableStatusError(Exception):
    """A status that may pass on retry: 429 or 5xx."""


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status in (404, 410):
        raise MissingFileError(f"{url} returned HTTP {status}")
    if status == 429 or status >= 500:
        raise _RetryableStatusError(f"HTTP {status}")
    if status >= 400:
        raise NetworkError(f"{url} returned HTTP {status}", hint="check the mirror URL")


def _limited(chunks: Iterator[bytes], limit: int, error: VerificationError) -> Iterator[bytes]:
    """Pass ``chunks`` through, raising ``error`` once they add up to more than ``limit`` bytes."""
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise error
        yield chunk


# ----------------------------------------------------------------------------- Release


def fetch_release(
    client: ArchiveClient | None,
    cache: ArchiveCache,
    mirror: str,
    suite: str,
    keyring: Path,
    *,
    now: dt.datetime | None = None,
) -> Release:
    """Fetch, verify and parse the InRelease of ``suite``; with no client, use the cache only.

    A cached InRelease is verified again each time. A fetched one that verifies
    replaces the cached one.

    Raises:
        MissingFileError: the mirror has no such suite.
        NetworkError: the mirror cannot be reached, or offline with nothing cached.
        VerificationError: bad signature, expired ``Valid-Until``, another suite's
            Release, or a Release older than the cached one.
    """
    url = f"{mirror.rstrip('/')}/dists/{suite}/InRelease"
    now = now or dt.datetime.now(dt.UTC)
    cached = cache.read_inrelease(mirror, suite)

    if client is None:
        if cached is None:
            raise NetworkError(
                f"no cached InRelease for {suite} from {mirror}",
                hint="run once without --offline to fill the cache",
            )
        return _parse_release(cached[0], url, suite, keyring, now, from_cache=True)

    headers: dict[str, str] = {}
    if cached is not None:
        if "etag" in cached[1]:
            headers["If-None-Match"] = cached[1]["etag"]
        if "last-modified" in cached[1]:
            headers["If-Modified-Since"] = cached[1]["last-modified"]
    response = client.get(url, headers=headers, max_bytes=MAX_INRELEASE_BYTES)
    if response.status == 304 and cached is not None:
        logger.debug("%s not modified, using the cached copy", url)
        return _parse_release(cached[0], url, suite, keyring, now, from_cache=True)

    release = _parse_release(response.content, url, suite, keyring, now, from_cache=False)
    _reject_rollback(release, cached, url, suite, keyring, now)
    validators = {
        key: response.headers[key] for key in ("etag", "last-modified") if key in response.headers
    }
    cache.write_inrelease(mirror, suite, response.content, validators)
    return release


def _reject_rollback(
    release: Release,
    cached: tuple[bytes, dict[str, str]] | None,
    url: str,
    suite: str,
    keyring: Path,
    now: dt.datetime,
) -> None:
    """Raise when the mirror serves a Release dated before the last one that verified."""
    if cached is None or release.date is None:
        return
    try:
        # The cached copy may have expired since, which does not matter for its date.
        previous = _parse_release(
            cached[0], url, suite, keyring, now, from_cache=True, expiry=False
        )
    except (VerificationError, ValueError):
        return
    if previous.date is not None and release.date < previous.date:
        raise VerificationError(
            f"{url} is dated {release.date:%Y-%m-%d %H:%M}, before the cached "
            f"{previous.date:%Y-%m-%d %H:%M}",
            hint="the mirror serves an older Release; use another mirror",
        )


def _parse_release(
    data: bytes,
    url: str,
    suite: str,
    keyring: Path,
    now: dt.datetime,
    *,
    from_cache: bool,
    expiry: bool = True,
) -> Release:
    signed = verify_clearsigned_detailed(data, keyring)
    fields = Deb822Release(signed.content)

    codename = fields.get("Codename")
    suite_field = fields.get("Suite")
    if suite not in (codename, suite_field):
        raise VerificationError(
            f"{url} is the Release of {codename or suite_field or 'an unnamed suite'}, not {suite}",
            hint="the mirror serves another suite's Release; use another mirror",
        )

    date = _parse_date(fields.get("Date"), "Date", url)
    valid_until = _parse_date(fields.get("Valid-Until"), "Valid-Until", url)
    if expiry and valid_until is not None and valid_until < now:
        raise VerificationError(
            f"{url} expired on {valid_until:%Y-%m-%d %H:%M} UTC (Valid-Until)",
            hint="the mirror or the cached copy is out of date; fetch again or use another mirror",
        )

    return Release(
        suite=suite,
        url=url,
        codename=codename,
        date=date,
        valid_until=valid_until,
        acquire_by_hash=fields.get("Acquire-By-Hash", "").strip().lower() == "yes",
        architectures=tuple(fields.get("Architectures", "").split()),
        components=tuple(fields.get("Components", "").split()),
        files=_sha256_files(fields, url),
        signed_by=signed.fingerprints,
        from_cache=from_cache,
    )


def _parse_date(text: str | None, field: str, url: str) -> dt.datetime | None:
    if not text:
        return None
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError) as error:
        raise VerificationError(f"{url}: invalid {field} {text!r}") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _sha256_files(fields: Deb822Release, url: str) -> dict[str, IndexFile]:
    files: dict[str, IndexFile] = {}
    for entry in fields.get("SHA256", []):
        name, digest, size = entry.get("name", ""), entry.get("sha256", ""), entry.get("size", "")
        valid = _INDEX_NAME.match(name) and ".." not in name.split("/")
        if not valid or not _SHA256.match(digest) or not str(size).isdigit():
            logger.warning("%s: skipping invalid SHA256 entry %r", url, entry)
            continue
        files[name] = IndexFile(name, digest, int(size))
    if not files:
        raise VerificationError(f"{url} lists no SHA256 checksums", hint="use another mirror")
    return files


# ----------------------------------------------------------------------------- Packages


def select_index(release: Release, component: str, architecture: str) -> IndexFile | None:
    """Return the preferred Packages index of ``component`` and ``architecture``, if listed.

    ``.xz`` is preferred to ``.gz`` and both to the uncompressed file. Older
    security suites list their files under ``updates/<component>``.
    """
    for prefix in (component, f"updates/{component}"):
        for suffix in _COMPRESSIONS:
            found = release.files.get(f"{prefix}/binary-{architecture}/Packages{suffix}")
            if found is not None:
                return found
    return None


def fetch_packages_index(
    client: ArchiveClient | None,
    cache: ArchiveCache,
    release: Release,
    index: IndexFile,
    *,
    compare: VersionCompare | None = None,
) -> PackagesIndex:
    """Return the parsed Packages ``index`` of ``release``, from the cache or the mirror.

    The downloaded bytes must match the size and SHA256 in the signed Release.
    With no client only the cache is used.

    Raises:
        VerificationError: the download does not match the Release, or does not decompress.
        NetworkError: the mirror cannot be reached, or offline with nothing cached.
    """
    url = release.base_url + index.name
    parsed = cache.read_parsed(index.sha256)
    if parsed is not None:
        logger.debug("using parsed index %s for %s", index.sha256, url)
        return PackagesIndex(url, index.sha256, parsed)

    raw = _cached_index(cache, index)
    if raw is None:
        if client is None:
            raise NetworkError(
                f"{url} (sha256 {index.sha256}) is not cached",
                hint="run once without --offline to fill the cache",
            )
        raw = _download_index(client, cache, release, index)

    plain_size = _plain_size(release, index)
    entries = parse_packages(_decompress(raw, index.name, plain_size, url), compare=compare)
    cache.write_parsed(index.sha256, entries)
    return PackagesIndex(url, index.sha256, entries)


def _cached_index(cache: ArchiveCache, index: IndexFile) -> bytes | None:
    path = cache.index_path(index.sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) != index.size or hashlib.sha256(data).hexdigest() != index.sha256:
        logger.warning("removing damaged cached index %s", path)
        path.unlink(missing_ok=True)
        return None
    return data


def _download_index(
    client: ArchiveClient, cache: ArchiveCache, release: Release, index: IndexFile
) -> bytes:
    urls = [release.base_url + index.name]
    if release.acquire_by_hash:
        folder = posixpath.dirname(index.name)
        urls.insert(0, f"{release.base_url}{folder}/by-hash/SHA256/{index.sha256}")

    target = cache.index_path(index.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    for position, url in enumerate(urls):
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{index.sha256}.", delete=False
        ) as out:
            partial = Path(out.name)
            try:
                logger.info("fetching %s", url)
                digest = client.download(url, out, size=index.size)
                size = out.tell()
            except MissingFileError:
                partial.unlink(missing_ok=True)
                if position + 1 < len(urls):
                    # APT also falls back to the plain name when a by-hash file is missing.
                    continue
                raise
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        if size != index.size or digest != index.sha256:
            partial.unlink(missing_ok=True)
            raise VerificationError(
                f"{url} does not match the signed Release: got {size} bytes with sha256 "
                f"{digest}, expected {index.size} bytes with sha256 {index.sha256}",
                hint="the mirror is inconsistent or tampered with; retry or use another mirror",
            )
        partial.replace(target)
        return target.read_bytes()
    raise AssertionError("unreachable: the last URL either returns or raises")


def _plain_size(release: Release, index: IndexFile) -> int:
    """Return the uncompressed size the Release lists for ``index``, or the general limit."""
    stem, suffix = posixpath.splitext(index.name)
    if suffix not in _COMPRESSIONS:
        return index.size
    plain = release.files.get(stem)
    return plain.size if plain is not None else MAX_INDEX_BYTES


def _decompress(raw: bytes, name: str, limit: int, url: str) -> bytes:
    """Decompress an index, raising VerificationError past ``limit`` bytes or on corrupt data."""
    try:
        if name.endswith(".xz"):
            decompressor: Any = lzma.LZMADecompressor()
        elif name.endswith(".gz"):
            decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        else:
            return raw
        data: bytes = decompressor.decompress(raw, limit + 1)
    except (lzma.LZMAError, zlib.error, EOFError) as error:
        raise VerificationError(f"{url} does not decompress: {error}") from error
    if len(data) > limit:
        raise VerificationError(f"{url} decompresses to more than the {limit} bytes expected")
    if not decompressor.eof:
        raise VerificationError(f"{url} is truncated: its compressed stream does not end")
    return data


def parse_packages(
    data: bytes, *, compare: VersionCompare | None = None
) -> dict[tuple[str, str], IndexEntry]:
    """Parse the Package, Version, Architecture and Source fields of a Packages index.

    Only those four single-line fields of each paragraph are read. On bookworm's
    50 MB main index this took 0.6 to 3 s where python-debian's paragraph
    iterator took 8 to 19 s (benchmarks/bench_packages_index.py, 2-core AMD
    EPYC shared with other jobs). When an index lists a package and architecture
    twice, the entry with the higher version (by ``compare``) is kept, or the
    first one without ``compare``. Paragraphs missing Package, Version or
    Architecture are skipped.
    """
    entries: dict[tuple[str, str], IndexEntry] = {}
    skipped = 0
    for paragraph in _PARAGRAPH_SEPARATOR.split(data):
        fields = dict(_FIELD.findall(paragraph))
        try:
            name = fields[b"Package"].decode("ascii")
            version = fields[b"Version"].decode("ascii")
            architecture = fields[b"Architecture"].decode("ascii")
        except (KeyError, UnicodeDecodeError):
            skipped += bool(paragraph.strip())
            continue
        if not name or not version or "\t" in version:
            skipped += 1
            continue
        source = fields.get(b"Source", b"").split(b" ", 1)[0].decode("ascii", "replace") or name
        key = (name, architecture)
        previous = entries.get(key)
        if previous is not None and (
            compare is None or _safe_compare(compare, version, previous.version) <= 0
        ):
            continue
        entries[key] = IndexEntry(version, source)
    if skipped:
        logger.warning(
            "skipped %d Packages paragraphs without Package, Version or Architecture", skipped
        )
    return entries


def _safe_compare(compare: VersionCompare, a: str, b: str) -> int:
    try:
        return compare(a, b)
    except InputError as error:
        logger.debug("cannot compare versions %r and %r: %s", a, b, error)
        return 0


def clean_partial_files(root: Path) -> None:
    """Remove partial files left beside the cache's files by an interrupted run."""
    if not root.is_dir():
        return
    for path in root.rglob(".*"):
        if path.is_file() and path.stat().st_mtime < time.time() - 3600:
            with contextlib.suppress(OSError):
                path.unlink()
