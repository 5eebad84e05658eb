"""The local advisory store: one SQLite file that the scan reads and updates rebuild.

Readers open the file read-only. Writers (`StoreWriter`) take a lock, copy the
current store to a partial file beside it, change the copy and rename it into
place, so a reader sees the old store or the new one, never a mix, and a killed
or failed update leaves the old store as it was.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

import platformdirs
from filelock import FileLock, Timeout

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.errors import HardbaseError, InputError

__all__ = [
    "DEFAULT_MAX_AGE",
    "SCHEMA_VERSION",
    "AdvisoryStore",
    "SourceStatus",
    "StoreError",
    "StoreLockedError",
    "StoreWriter",
    "default_store_path",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: Age past which `hardbase scan` warns that the store needs `hardbase db update`.
DEFAULT_MAX_AGE = timedelta(hours=24)
STORE_ENV = "HARDBASE_STORE"

_PARTIAL_PREFIX = ".advisories-partial-"
_BATCH = 20_000
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    fetched_at TEXT NOT NULL,
    records INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE advisories (
    source_name TEXT NOT NULL,
    source TEXT NOT NULL,
    vulnerability_id TEXT NOT NULL,
    distro TEXT NOT NULL,
    release TEXT NOT NULL,
    package TEXT NOT NULL,
    status TEXT NOT NULL,
    fixed_version TEXT,
    introduced_version TEXT,
    urgency TEXT,
    nodsa TEXT,
    nodsa_reason TEXT,
    record TEXT NOT NULL,
    repository TEXT,
    aliases TEXT
);
CREATE TABLE descriptions (
    source_name TEXT NOT NULL,
    vulnerability_id TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (source_name, vulnerability_id)
) WITHOUT ROWID;
"""
# Created after the bulk inserts of each write: maintaining them row by row made an
# import of the full tracker several times slower.
_INDEXES = """
CREATE INDEX IF NOT EXISTS advisories_by_release ON advisories (distro, release, package);
CREATE INDEX IF NOT EXISTS advisories_by_package ON advisories (distro, package);
CREATE INDEX IF NOT EXISTS advisories_by_source ON advisories (source_name);
"""
_DROP_INDEXES = """
DROP INDEX IF EXISTS advisories_by_release;
DROP INDEX IF EXISTS advisories_by_package;
DROP INDEX IF EXISTS advisories_by_source;
"""
_COLUMNS = (
    "source_name, source, vulnerability_id, distro, release, package, status, fixed_version, "
    "introduced_version, urgency, nodsa, nodsa_reason, record, repository, aliases"
)


class StoreError(InputError):
    """The advisory store is missing, damaged or of another schema version."""


class StoreLockedError(HardbaseError):
    """Another process is writing the advisory store."""


def default_store_path() -> Path:
    """Return the store path: ``$HARDBASE_STORE``, else ``advisories.db`` in the user cache."""
    override = os.environ.get(STORE_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_cache_dir("hardbase")) / "advisories.db"


@dataclass(frozen=True)
class SourceStatus:
    """Status of the records the store contains from one source."""

    name: str
    """Source name: ``debian-tracker``, ``alpine-secdb/v3.20/main``, ``osv/Debian``, ..."""
    kind: str
    """Feed format, a `FeedKind` value."""
    url: str
    """Origin of the data: a URL, or the path given to ``db import``."""
    records: int
    """Advisories stored from this source."""
    skipped: int
    """Records or lines the parser skipped."""
    fetched_at: datetime
    """When the data was last downloaded or confirmed current (UTC)."""
    etag: str | None = None
    last_modified: str | None = None
    sha256: str = ""
    """SHA-256 of the document the records came from."""

    @property
    def age(self) -> timedelta:
        """Time since `fetched_at`."""
        return datetime.now(UTC) - self.fetched_at


class AdvisoryStore:
    """Read-only access to the advisory store for the matcher and ``db status``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None = None) -> AdvisoryStore:
        """Open the store at ``path`` (default: `default_store_path`) read-only.

        Raises:
            StoreError: when the file is missing, is not an advisory store, or has
                another schema version.
        """
        path = path or default_store_path()
        if not path.is_file():
            raise StoreError(
                f"advisory store {path} not found",
                hint="run `hardbase db update` or `hardbase db import FILE`",
            )
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            _check_schema(connection, path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path)

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()

    def __enter__(self) -> AdvisoryStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def advisories_for(
        self, distro: str, release: str | None, packages: Iterable[str]
    ) -> list[Advisory]:
        """Return every advisory of ``distro`` for the named source packages.

        ``release`` None returns the advisories of all releases, which the
        cross-release rules need (a fix in a later release, an end-of-life note).
        """
        names = sorted(set(packages))
        found: list[Advisory] = []
        # SQLite limits the number of bound parameters; 500 stays well below it.
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = (
                # Only fixed column names and "?" placeholders are interpolated.
                f"SELECT {_qualified_columns()}, d.description FROM advisories AS a "  # noqa: S608
                "LEFT JOIN descriptions AS d "
                "ON d.source_name = a.source_name AND d.vulnerability_id = a.vulnerability_id "
                f"WHERE a.distro = ? AND a.package IN ({marks})"
            )
            parameters: list[str] = [distro, *chunk]
            if release is not None:
                query += " AND a.release = ?"
                parameters.append(release)
            found.extend(_advisory(row) for row in self._connection.execute(query, parameters))
        return found

    def releases(self, distro: str) -> set[str]:
        """Return the releases of ``distro`` that the store holds advisories for."""
        rows = self._connection.execute(
            "SELECT DISTINCT release FROM advisories WHERE distro = ?", (distro,)
        )
        return {row[0] for row in rows}

    def sources(self) -> list[SourceStatus]:
        """Return the status of every source in the store, sorted by name."""
        return _read_sources(self._connection)

    def age(self) -> timedelta | None:
        """Return the age of the oldest source's data, or None for an empty store."""
        statuses = self.sources()
        if not statuses:
            return None
        return max(status.age for status in statuses)

    def count(self) -> int:
        """Return the number of stored advisories."""
        return int(self._connection.execute("SELECT COUNT(*) FROM advisories").fetchone()[0])


def _qualified_columns() -> str:
    return ", ".join(f"a.{column.strip()}" for column in _COLUMNS.split(","))


_STATUSES = {status.value: status for status in AdvisoryStatus}


def _advisory(row: tuple[str | None, ...]) -> Advisory:
    aliases = json.loads(row[14]) if row[14] else []
    return Advisory(
        source=str(row[1]),
        vulnerability_id=str(row[2]),
        distro=str(row[3]),
        release=str(row[4]),
        package=str(row[5]),
        status=_STATUSES[str(row[6])],
        fixed_version=row[7],
        introduced_version=row[8],
        urgency=row[9],
        nodsa=row[10],
        nodsa_reason=row[11],
        record=str(row[12]),
        repository=row[13],
        aliases=tuple(aliases),
        description=row[15],
    )


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as error:
        raise StoreError(
            f"{path} is not a hardbase advisory store ({error})",
            hint="remove it and run `hardbase db update`",
        ) from None
    version = row[0] if row else None
    if version != str(SCHEMA_VERSION):
        raise StoreError(
            f"advisory store {path} has schema version {version}, this hardbase reads "
            f"version {SCHEMA_VERSION}",
            hint="run `hardbase db update` to rebuild it",
        )


def _has_schema_version(path: Path) -> bool:
    """Return True when ``path`` is an SQLite file with the store's meta table, any version."""
    if path.stat().st_size == 0:
        # An empty file is what SQLite itself treats as a new database.
        return True
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return row is not None


def _natural_key(name: str) -> list[tuple[int, str]]:
    """Return a sort key that orders numbers by value: ``v3.9`` before ``v3.10``."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", name)]


def _read_sources(connection: sqlite3.Connection) -> list[SourceStatus]:
    rows = connection.execute(
        "SELECT name, kind, url, records, skipped, fetched_at, etag, last_modified, sha256 "
        "FROM sources"
    )
    statuses = [
        SourceStatus(
            name=row[0],
            kind=row[1],
            url=row[2],
            records=row[3],
            skipped=row[4],
            fetched_at=datetime.fromisoformat(row[5]),
            etag=row[6],
            last_modified=row[7],
            sha256=row[8],
        )
        for row in rows
    ]
    return sorted(statuses, key=lambda status: _natural_key(status.name))


class StoreWriter:
    """Builds a new store beside the current one and renames it into place on commit.

    Use as a context manager: leaving the block without `commit` (an error, an
    interrupt) removes the partial file and leaves the current store untouched.
    Only one writer per store runs at a time.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        self._lock = FileLock(str(self.path.with_name(self.path.name + ".lock")), timeout=0)
        self._partial: Path | None = None
        self._connection: sqlite3.Connection | None = None
        self.previous: dict[str, SourceStatus] = {}
        """Sources of the store being replaced, for conditional requests."""

    def __enter__(self) -> StoreWriter:
        if self.path.exists() and not self.path.is_file():
            # commit() renames over the path, which would replace a device node or FIFO.
            kind = "a folder" if self.path.is_dir() else "not a regular file"
            raise StoreError(
                f"advisory store {self.path} is {kind}",
                hint="give the path of a store file, such as FOLDER/advisories.db",
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create folder {self.path.parent} for advisory store {self.path}: "
                f"{error.strerror}",
                hint="choose another --store or HARDBASE_STORE",
            ) from None
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreLockedError(
                f"advisory store {self.path} is being updated by another process",
                hint="wait for that `hardbase db update` or `db import` to finish",
            ) from None
        try:
            self._begin()
        except BaseException:
            self._discard()
            self._lock.release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._discard()
        self._lock.release()

    def _begin(self) -> None:
        _remove_stale_partials(self.path.parent)
        handle, name = tempfile.mkstemp(prefix=_PARTIAL_PREFIX, suffix=".db", dir=self.path.parent)
        os.close(handle)
        self._partial = Path(name)
        copied = self._copy_current()
        connection = sqlite3.connect(self._partial, isolation_level=None)
        self._connection = connection
        # The partial file becomes durable through fsync and rename in commit(), so
        # SQLite's own journal would only slow the bulk inserts down.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -65536")
        if copied:
            self.previous = {status.name: status for status in _read_sources(connection)}
        else:
            connection.executescript(_SCHEMA)
            connection.execute(
                "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        connection.execute("BEGIN")
        for statement in _DROP_INDEXES.strip().splitlines():
            connection.execute(statement)

    def _copy_current(self) -> bool:
        """Copy the current store to the partial file; False when there is none usable."""
        assert self._partial is not None
        if not self.path.is_file():
            return False
        try:
            with AdvisoryStore.open(self.path):
                pass
        except StoreError as error:
            if not _has_schema_version(self.path):
                # Not a store at all: perhaps a file the user named by mistake.
                raise StoreError(
                    f"{self.path} exists and is not a hardbase advisory store",
                    hint="remove it or choose another --store or HARDBASE_STORE",
                ) from None
            logger.warning("starting a new advisory store: %s", error.message)
            return False
        shutil.copyfile(self.path, self._partial)
        return True

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("StoreWriter used outside its with block")
        return self._connection

    def replace_source(self, status: SourceStatus, advisories: Iterable[Advisory]) -> int:
        """Replace every record of ``status.name`` with ``advisories``; return their count.

        The count and ``status`` are written to the source table. An exception from
        ``advisories`` (a malformed feed) propagates and the store stays unchanged.
        """
        db = self._db
        db.execute("DELETE FROM advisories WHERE source_name = ?", (status.name,))
        db.execute("DELETE FROM descriptions WHERE source_name = ?", (status.name,))
        count = 0
        rows: list[tuple[str | None, ...]] = []
        descriptions: dict[str, str] = {}
        for advisory in advisories:
            rows.append(_row(status.name, advisory))
            if advisory.description and advisory.vulnerability_id not in descriptions:
                descriptions[advisory.vulnerability_id] = advisory.description
            if len(rows) >= _BATCH:
                count += self._insert(rows)
        count += self._insert(rows)
        db.executemany(
            "INSERT OR IGNORE INTO descriptions VALUES (?, ?, ?)",
            ((status.name, key, text) for key, text in descriptions.items()),
        )
        self._write_status(status, count)
        return count

    def _insert(self, rows: list[tuple[str | None, ...]]) -> int:
        marks = ",".join("?" * 15)
        statement = f"INSERT INTO advisories ({_COLUMNS}) VALUES ({marks})"  # noqa: S608
        self._db.executemany(statement, rows)
        inserted = len(rows)
        rows.clear()
        return inserted

    def touch_source(self, name: str, fetched_at: datetime) -> None:
        """Mark source ``name`` as confirmed current at ``fetched_at`` (HTTP 304)."""
        self._db.execute(
            "UPDATE sources SET fetched_at = ? WHERE name = ?", (fetched_at.isoformat(), name)
        )

    def replace_status(self, status: SourceStatus) -> None:
        """Write ``status`` to the source table as given, records and skipped included."""
        self._write_status(status, status.records)

    def _write_status(self, status: SourceStatus, records: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                status.name,
                status.kind,
                status.url,
                status.etag,
                status.last_modified,
                status.fetched_at.isoformat(),
                records,
                status.skipped,
                status.sha256,
            ),
        )

    def commit(self) -> None:
        """Write the new store and rename it over the current one."""
        db = self._db
        for statement in _INDEXES.strip().splitlines():
            db.execute(statement)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.close()
        self._connection = None
        assert self._partial is not None
        with self._partial.open("rb") as handle:
            os.fsync(handle.fileno())
        self._partial.chmod(0o644)
        self._partial.replace(self.path)
        self._partial = None
        _fsync_folder(self.path.parent)
        logger.info("advisory store %s written", self.path)

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._partial is not None:
            self._partial.unlink(missing_ok=True)
            self._partial = None


def _row(source_name: str, advisory: Advisory) -> tuple[str | None, ...]:
    return (
        source_name,
        advisory.source,
        advisory.vulnerability_id,
        advisory.distro,
        advisory.release,
        advisory.package,
        advisory.status.value,
        advisory.fixed_version,
        advisory.introduced_version,
        advisory.urgency,
        advisory.nodsa,
        advisory.nodsa_reason,
        advisory.record,
        advisory.repository,
        json.dumps(advisory.aliases) if advisory.aliases else None,
    )


def _remove_stale_partials(folder: Path) -> None:
    """Remove partial stores left by a killed writer; the caller holds the lock."""
    for stale in folder.glob(f"{_PARTIAL_PREFIX}*"):
        logger.info("removing %s left by an interrupted update", stale)
        stale.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def iter_sources(path: Path) -> Iterator[SourceStatus]:
    """Yield the sources of the store at ``path``; nothing when it is missing or unusable."""
    try:
        store = AdvisoryStore.open(path)
    except StoreError:
        return
    with store:
        yield from store.sources()
