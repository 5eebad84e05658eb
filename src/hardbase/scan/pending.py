"""Find installed Debian or Ubuntu packages that the signed archive has newer versions of.

For an image's codename the ``-security``, ``-updates`` and release suites are
read (see `hardbase.advisories.archive` for how each is verified). Every
installed package whose highest candidate across those suites is newer than the
installed version becomes a finding. A candidate from ``-security`` is a
security update and has high severity; one from ``-updates`` or a point release
has low severity.

Ubuntu uses the same layout with its own mirrors and keyring, but this check has
not been run against a live Ubuntu archive.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hardbase.advisories.archive import (
    DEBIAN_KEYRING,
    DEFAULT_MIRROR,
    DEFAULT_SECURITY_MIRROR,
    UBUNTU_KEYRING,
    UBUNTU_MIRROR,
    UBUNTU_SECURITY_MIRROR,
    ArchiveCache,
    ArchiveClient,
    IndexEntry,
    MissingFileError,
    PackagesIndex,
    Release,
    VersionCompare,
    clean_partial_files,
    default_cache_dir,
    fetch_packages_index,
    fetch_release,
    select_index,
)
from hardbase.errors import HardbaseError, InputError
from hardbase.packages.model import Distro, Inventory, Package
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.tools.gpgv import check_keyring, gpgv_version

logger = logging.getLogger(__name__)

#: Rule id of a pending update from the security suite.
RULE_SECURITY_UPDATE = "HB-UPDATE-001"
#: Rule id of a pending update from the updates suite or a point release.
RULE_UPDATE = "HB-UPDATE-002"

#: Called before each step with a description, the steps done and the total.
ProgressCallback = Callable[[str, int, int], None]

_CODENAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_ARCHITECTURE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_COMPONENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}(?:/[a-z0-9-]+)?$")


class SuiteKind(enum.Enum):
    """The role of a suite in a release, which decides the severity of its updates."""

    SECURITY = "security"
    UPDATES = "updates"
    RELEASE = "release"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class IndexStatus:
    """One Packages index that was verified and read."""

    component: str
    architecture: str
    url: str
    sha256: str
    package_count: int


@dataclass(frozen=True)
class SuiteStatus:
    """The outcome of one suite during the check: verified or not, and the indices read."""

    suite: str
    kind: SuiteKind
    url: str
    """URL of the suite's InRelease."""
    verified: bool
    """True when the InRelease signature verified and its Release was usable."""
    date: str | None = None
    """The Release's ``Date``, ISO 8601."""
    valid_until: str | None = None
    from_cache: bool = False
    signed_by: tuple[str, ...] = ()
    """Fingerprints of the keys whose signatures verified."""
    indices: tuple[IndexStatus, ...] = ()

    @property
    def index_sha256(self) -> tuple[str, ...]:
        return tuple(index.sha256 for index in self.indices)

    @property
    def package_count(self) -> int:
        return sum(index.package_count for index in self.indices)


@dataclass(frozen=True)
class PendingResult:
    """Findings of a pending-update check, with the warnings and the state of each suite."""

    findings: tuple[Finding, ...] = ()
    warnings: tuple[str, ...] = ()
    """Suites that could not be used and why: unreachable, bad signature, expired, missing."""
    suites: tuple[SuiteStatus, ...] = ()


@dataclass(frozen=True)
class _Suite:
    name: str
    mirror: str
    kind: SuiteKind


@dataclass(frozen=True)
class _Candidate:
    version: str
    source: str
    suite: _Suite
    index: PackagesIndex


@dataclass
class _Run:
    """Mutable state of one check, kept out of the frozen results."""

    warnings: list[str] = field(default_factory=list)
    suites: list[SuiteStatus] = field(default_factory=list)
    step: int = 0
    total: int = 0
    progress: ProgressCallback | None = None

    def advance(self, description: str) -> None:
        if self.progress is not None:
            self.progress(description, self.step, self.total)
        self.step += 1


def check_pending_updates(
    inventory: Inventory,
    *,
    mirror: str | None = None,
    security_mirror: str | None = None,
    keyring: Path | None = None,
    components: Sequence[str] = ("main",),
    offline: bool = False,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> PendingResult:
    """Find the installed packages of ``inventory`` that the archive has newer versions of.

    ``mirror``, ``security_mirror`` and ``keyring`` default to Debian's or
    Ubuntu's by ``inventory.distro.id``; another Debian derivative needs all three.
    With ``offline`` only the cache is read, and each cached InRelease is
    verified again. ``cache_dir`` defaults to `default_cache_dir`.

    Nothing the archive does raises: an unreachable mirror, a bad signature, an
    expired Release, a missing suite or an index that does not match its
    Release becomes a warning, and no results come from that suite or index.
    Images that are not Debian-family return an empty result.
    """
    distro = inventory.distro
    if distro is None or distro.family != "debian":
        logger.debug("pending updates are checked for Debian and Ubuntu images only")
        return PendingResult()

    run = _Run(progress=progress)
    setup = _setup(distro, inventory, mirror, security_mirror, keyring, components, run)
    if setup is None:
        return PendingResult(warnings=tuple(run.warnings))
    suites, keyring_path, architectures = setup

    compare = _version_compare()
    if compare is None:
        run.warnings.append(
            "pending updates not checked: Debian version ordering (hardbase.versions) is missing"
        )
        return PendingResult(warnings=tuple(run.warnings))

    cache = ArchiveCache(cache_dir if cache_dir is not None else default_cache_dir())
    clean_partial_files(cache.root)
    run.total = len(suites) * (1 + len(components) * len(architectures))

    client = None if offline else ArchiveClient()
    try:
        candidates: dict[tuple[str, str], _Candidate] = {}
        for suite in suites:
            for key, candidate in _read_suite(
                suite, client, cache, keyring_path, components, architectures, compare, run
            ).items():
                # Suites come security first, so on equal versions the security
                # suite is named: the fix reached the point release through it.
                best = candidates.get(key)
                if best is None or _newer(compare, candidate.version, best.version):
                    candidates[key] = candidate
    finally:
        if client is not None:
            client.close()

    findings = _findings(inventory.present, candidates, compare, run)
    return PendingResult(tuple(findings), tuple(run.warnings), tuple(run.suites))


def _setup(
    distro: Distro,
    inventory: Inventory,
    mirror: str | None,
    security_mirror: str | None,
    keyring: Path | None,
    components: Sequence[str],
    run: _Run,
) -> tuple[list[_Suite], Path, list[str]] | None:
    """Return the suites, keyring and architectures to read, or None after adding a warning."""
    defaults = {
        "debian": (DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR, DEBIAN_KEYRING),
        "ubuntu": (UBUNTU_MIRROR, UBUNTU_SECURITY_MIRROR, UBUNTU_KEYRING),
    }.get(distro.id)
    if defaults is None and None in (mirror, security_mirror, keyring):
        run.warnings.append(
            f"pending updates not checked: no default archive for {distro.id!r}; "
            "pass the mirror, security mirror and keyring of its archive"
        )
        return None
    if defaults is not None:
        mirror = mirror or defaults[0]
        security_mirror = security_mirror or defaults[1]
        keyring = keyring or defaults[2]
    if mirror is None or security_mirror is None or keyring is None:
        raise AssertionError("unreachable: each option is either given or defaulted")

    codename = distro.codename
    if not codename or not _CODENAME.match(codename):
        run.warnings.append(
            f"pending updates not checked: os-release has no usable codename ({codename!r})"
        )
        return None
    bad_components = [c for c in components if not _COMPONENT.match(c)]
    if bad_components or not components:
        raise InputError(
            f"invalid archive components {list(components)!r}",
            hint="use names such as main, contrib or universe",
        )

    architectures = _architectures(inventory.present)
    if not architectures:
        run.warnings.append(
            "pending updates not checked: no installed package names an architecture"
        )
        return None

    try:
        gpgv_version()
        keyring_path = check_keyring(keyring)
    except HardbaseError as error:
        run.warnings.append(f"pending updates not checked: {error}")
        return None

    suites = [
        _Suite(f"{codename}-security", security_mirror, SuiteKind.SECURITY),
        _Suite(f"{codename}-updates", mirror, SuiteKind.UPDATES),
        _Suite(codename, mirror, SuiteKind.RELEASE),
    ]
    return suites, keyring_path, architectures


def _architectures(packages: Sequence[Package]) -> list[str]:
    """Return the architectures of the installed packages; ``all`` is in every index."""
    found = {p.architecture for p in packages if p.architecture and p.architecture != "all"}
    valid = sorted(a for a in found if _ARCHITECTURE.match(a))
    if len(valid) < len(found):
        logger.warning("ignoring invalid architectures %s", sorted(found - set(valid)))
    return valid


def _version_compare() -> VersionCompare | None:
    # Imported here so that a missing or broken versions package costs this
    # check only, not the import of the whole scanner.
    try:
        from hardbase.versions import compare_dpkg
    except ImportError as error:
        logger.warning("cannot import hardbase.versions.compare_dpkg: %s", error)
        return None
    return compare_dpkg


def _read_suite(
    suite: _Suite,
    client: ArchiveClient | None,
    cache: ArchiveCache,
    keyring: Path,
    components: Sequence[str],
    architectures: Sequence[str],
    compare: VersionCompare,
    run: _Run,
) -> dict[tuple[str, str], _Candidate]:
    """Return the highest version per (package, architecture) that one suite offers."""
    run.advance(f"verifying {suite.name}")
    url = f"{suite.mirror.rstrip('/')}/dists/{suite.name}/InRelease"
    try:
        release = fetch_release(client, cache, suite.mirror, suite.name, keyring)
    except MissingFileError as error:
        run.warnings.append(f"{suite.name}: suite not found on the mirror ({error.message})")
        run.suites.append(SuiteStatus(suite.name, suite.kind, url, verified=False))
        run.step += len(components) * len(architectures)
        return {}
    except HardbaseError as error:
        run.warnings.append(f"{suite.name}: {error}; no results from this suite")
        run.suites.append(SuiteStatus(suite.name, suite.kind, url, verified=False))
        run.step += len(components) * len(architectures)
        return {}
    logger.info("verified %s (%s), signed by %s", url, release.date, ", ".join(release.signed_by))

    candidates: dict[tuple[str, str], _Candidate] = {}
    indices: list[IndexStatus] = []
    for component in components:
        for architecture in architectures:
            run.advance(f"reading {suite.name} {component}/binary-{architecture}")
            index = _read_index(release, client, cache, component, architecture, compare, run)
            if index is None:
                continue
            indices.append(
                IndexStatus(component, architecture, index.url, index.sha256, len(index.entries))
            )
            _merge(candidates, index, suite, compare)

    run.suites.append(_suite_status(suite, release, tuple(indices)))
    return candidates


def _read_index(
    release: Release,
    client: ArchiveClient | None,
    cache: ArchiveCache,
    component: str,
    architecture: str,
    compare: VersionCompare,
    run: _Run,
) -> PackagesIndex | None:
    listed = select_index(release, component, architecture)
    if listed is None:
        run.warnings.append(
            f"{release.suite}: the Release lists no Packages index for "
            f"{component}/binary-{architecture}"
        )
        return None
    try:
        return fetch_packages_index(client, cache, release, listed, compare=compare)
    except HardbaseError as error:
        run.warnings.append(f"{release.suite}: {error}; no results from this index")
        return None


def _merge(
    candidates: dict[tuple[str, str], _Candidate],
    index: PackagesIndex,
    suite: _Suite,
    compare: VersionCompare,
) -> None:
    entries: Mapping[tuple[str, str], IndexEntry] = index.entries
    for key, entry in entries.items():
        best = candidates.get(key)
        if best is None or _newer(compare, entry.version, best.version):
            candidates[key] = _Candidate(entry.version, entry.source, suite, index)


def _suite_status(suite: _Suite, release: Release, indices: tuple[IndexStatus, ...]) -> SuiteStatus:
    return SuiteStatus(
        suite=suite.name,
        kind=suite.kind,
        url=release.url,
        verified=True,
        date=release.date.isoformat() if release.date else None,
        valid_until=release.valid_until.isoformat() if release.valid_until else None,
        from_cache=release.from_cache,
        signed_by=release.signed_by,
        indices=indices,
    )


def _newer(compare: VersionCompare, candidate: str, current: str) -> bool:
    """Return True when ``candidate`` sorts after ``current``; invalid versions never do."""
    try:
        return compare(candidate, current) > 0
    except InputError as error:
        logger.debug("cannot compare versions %r and %r: %s", candidate, current, error)
        return False


def _findings(
    installed: Sequence[Package],
    candidates: Mapping[tuple[str, str], _Candidate],
    compare: VersionCompare,
    run: _Run,
) -> list[Finding]:
    findings = []
    for package in installed:
        if package.ecosystem != "deb" or not package.architecture:
            continue
        candidate = candidates.get((package.name, package.architecture))
        if candidate is None:
            continue
        try:
            newer = compare(candidate.version, package.version) > 0
        except InputError as error:
            run.warnings.append(f"{package.name}: cannot compare versions: {error}")
            continue
        if newer:
            findings.append(_finding(package, candidate))
    findings.sort(key=lambda f: (-f.severity, f.package or ""))
    return findings


def _finding(package: Package, candidate: _Candidate) -> Finding:
    security = candidate.suite.kind is SuiteKind.SECURITY
    return Finding(
        rule_id=RULE_SECURITY_UPDATE if security else RULE_UPDATE,
        kind=FindingKind.PENDING_UPDATE,
        severity=Severity.HIGH if security else Severity.LOW,
        title=(
            f"{'security update' if security else 'update'} for {package.name}: "
            f"{package.version} installed, {candidate.version} in {candidate.suite.name}"
        ),
        fix=f"rebuild the image so that it installs {package.name} {candidate.version}",
        evidence={
            "installed_version": package.version,
            "available_version": candidate.version,
            "suite": candidate.suite.name,
            "suite_kind": str(candidate.suite.kind),
            "architecture": package.architecture,
            "source_package": candidate.source or package.source_name or package.name,
            "index": {"url": candidate.index.url, "sha256": candidate.index.sha256},
        },
        package=package.name,
    )
