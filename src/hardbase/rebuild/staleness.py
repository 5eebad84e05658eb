"""Decide which images need a rebuild, and why.

An image is stale for its own reasons when it is not in the registry, when
no build of it is recorded, when its spec, Dockerfile, build arguments or
build context changed since the recorded build, when a parent's digest
differs from the one it was built on, or when the signed archive has pending
updates for its packages. Every image below a stale image is stale too,
because its parent is about to change; nothing else is.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardbase.rebuild.config import ArchiveSettings
from hardbase.rebuild.graph import ImageGraph, ImageNode
from hardbase.rebuild.references import Reference
from hardbase.rebuild.state import ImageRecord, State

logger = logging.getLogger(__name__)

BASE_DIGEST_KEY = "org.opencontainers.image.base.digest"
#: Folders left out of the build context hash.
_CONTEXT_SKIPPED = frozenset({".git", ".hardbase"})


class ReasonKind(enum.StrEnum):
    """Reason an image needs a rebuild."""

    NOT_BUILT = "not-built"
    """The reference is not in the registry."""
    NO_RECORD = "no-record"
    """The state file records no build, so its inputs are unknown."""
    INPUTS_CHANGED = "inputs-changed"
    BASE_MOVED = "base-moved"
    PENDING_UPDATES = "pending-updates"
    PARENT_STALE = "parent-stale"


@dataclass(frozen=True)
class Reason:
    """One reason for a rebuild."""

    kind: ReasonKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class Assessment:
    """Staleness verdict for one image, with its reasons."""

    name: str
    reasons: tuple[Reason, ...] = ()
    digest: str | None = None
    """Digest of the image in the registry now, when it is there."""
    checked: bool = True
    """False when the image has no reference, so the registry could not be asked."""
    warnings: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return bool(self.reasons)

    @property
    def direct(self) -> bool:
        """True when the image is stale for a reason of its own, not only its parent's."""
        return any(reason.kind != ReasonKind.PARENT_STALE for reason in self.reasons)


@dataclass(frozen=True)
class PendingOutcome:
    """Pending updates found in one image: package names with versions, and warnings."""

    updates: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Probe:
    """Asks the registry for digests and the archive for pending updates; caches digests."""

    def __init__(
        self,
        *,
        tls_verify: bool = True,
        archive: ArchiveSettings | None = None,
        cache_dir: Path | None = None,
        offline: bool = False,
    ) -> None:
        self.tls_verify = tls_verify
        self.archive = archive or ArchiveSettings()
        self.cache_dir = cache_dir
        self.offline = offline
        self._digests: dict[str, str | None] = {}

    def digest(self, reference: Reference) -> str | None:
        """Return the registry digest of ``reference`` now, or None when it is not there."""
        from hardbase.tools import skopeo

        key = reference.transport()
        if key not in self._digests:
            self._digests[key] = skopeo.manifest_digest(key, tls_verify=self.tls_verify)
        return self._digests[key]

    def forget(self, reference: Reference) -> None:
        """Drop the cached digest of ``reference`` after pushing to it."""
        self._digests.pop(reference.transport(), None)

    def pending(self, reference: Reference, digest: str, platform: str | None) -> PendingOutcome:
        """Pull the image at ``digest`` and check its packages against the signed archive."""
        from hardbase.image.reader import open_image
        from hardbase.packages import read_inventory
        from hardbase.scan.pending import RULE_SECURITY_UPDATE, check_pending_updates
        from hardbase.tools import skopeo

        if self.archive.pending == "off":
            return PendingOutcome()
        work = Path(tempfile.mkdtemp(prefix="hardbase-outdated-"))
        try:
            # Copied here rather than through open_image's docker transport, which has
            # no switch for a registry without TLS on 127.0.0.1.
            layout = work / "layout"
            skopeo.copy(
                f"docker://{reference.pinned(digest)}",
                f"oci:{layout}:image",
                platform=platform,
                tls_verify=self.tls_verify,
            )
            with open_image(f"oci:{layout}:image", platform=platform) as image:
                inventory = read_inventory(image.fs, files=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        keyring = Path(self.archive.keyring) if self.archive.keyring else None
        result = check_pending_updates(
            inventory,
            mirror=self.archive.mirror,
            security_mirror=self.archive.security_mirror,
            keyring=keyring,
            components=self.archive.components,
            offline=self.offline,
            cache_dir=self.cache_dir,
        )
        wanted = [
            finding
            for finding in result.findings
            if self.archive.pending == "all" or finding.rule_id == RULE_SECURITY_UPDATE
        ]
        updates = tuple(
            sorted({_update_text(finding.evidence, finding.package) for finding in wanted})
        )
        return PendingOutcome(updates, result.warnings)

    def base_digest(self, reference: Reference, digest: str) -> str | None:
        """Return the ``org.opencontainers.image.base.digest`` annotation or label of an image."""
        from hardbase.tools import skopeo

        pinned = f"docker://{reference.pinned(digest)}"
        manifest = skopeo.inspect(pinned, raw=True, tls_verify=self.tls_verify)
        annotations = manifest.get("annotations")
        if isinstance(annotations, dict) and isinstance(annotations.get(BASE_DIGEST_KEY), str):
            return str(annotations[BASE_DIGEST_KEY])
        details = skopeo.inspect(pinned, tls_verify=self.tls_verify)
        labels = details.get("Labels")
        if isinstance(labels, dict) and isinstance(labels.get(BASE_DIGEST_KEY), str):
            return str(labels[BASE_DIGEST_KEY])
        return None


def _update_text(evidence: Mapping[str, Any], package: str | None) -> str:
    installed = evidence.get("installed_version") or evidence.get("installed")
    candidate = evidence.get("available_version")
    if installed and candidate:
        return f"{package} {installed} -> {candidate}"
    return str(package)


#: Reports progress: an image name and what is being checked.
ProgressCallback = Callable[[str, str], None]


def assess(
    graph: ImageGraph,
    state: State,
    probe: Probe,
    *,
    check_external: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, Assessment]:
    """Assess every image of ``graph``, parents first; see the module docstring for the rules.

    An image below a stale one is not pulled for the pending-update check,
    since it is rebuilt anyway; its reason is then only ``parent-stale``.
    """
    report = progress or (lambda _name, _what: None)
    found: dict[str, Assessment] = {}
    for level in graph.levels:
        for name in level:
            node = graph.nodes[name]
            report(name, "checking")
            own = _own(graph, node, state, probe, check_external, found, report)
            stale_parents = [p for p in node.parents if found[p].stale]
            inherited = tuple(
                Reason(ReasonKind.PARENT_STALE, f"parent {parent} needs a rebuild")
                for parent in stale_parents
            )
            found[name] = Assessment(
                name,
                own.reasons + inherited,
                own.digest,
                own.checked,
                own.warnings,
            )
    return found


def _own(
    graph: ImageGraph,
    node: ImageNode,
    state: State,
    probe: Probe,
    check_external: bool,
    found: Mapping[str, Assessment],
    report: ProgressCallback,
) -> Assessment:
    if node.reference is None:
        return Assessment(node.name, checked=False, warnings=(f"{node.name}: no reference",))
    digest = probe.digest(node.reference)
    if digest is None:
        return Assessment(
            node.name, (Reason(ReasonKind.NOT_BUILT, f"{node.reference} is not in the registry"),)
        )
    record = state.images.get(node.name)
    reasons: list[Reason] = []
    if record is None:
        reasons.append(Reason(ReasonKind.NO_RECORD, "the state file records no build of it"))
    else:
        current = input_hash(graph.root, node)
        if current != record.inputs:
            reasons.append(
                Reason(ReasonKind.INPUTS_CHANGED, f"{node.source} or its build context changed")
            )
    reasons += _moved_bases(graph, node, record, digest, probe, check_external)
    if reasons or any(found[parent].stale for parent in node.parents):
        return Assessment(node.name, tuple(reasons), digest)

    report(node.name, "pending updates")
    outcome = probe.pending(node.reference, digest, node.platform)
    if outcome.updates:
        shown = ", ".join(outcome.updates[:5])
        more = f" and {len(outcome.updates) - 5} more" if len(outcome.updates) > 5 else ""
        reasons.append(Reason(ReasonKind.PENDING_UPDATES, f"{shown}{more}"))
    return Assessment(node.name, tuple(reasons), digest, warnings=outcome.warnings)


def _moved_bases(
    graph: ImageGraph,
    node: ImageNode,
    record: ImageRecord | None,
    digest: str,
    probe: Probe,
    check_external: bool,
) -> list[Reason]:
    reasons = []
    for edge in node.edges:
        if edge.parent is not None:
            parent = graph.nodes[edge.parent]
            if parent.reference is None:
                continue
            now = probe.digest(parent.reference)
        elif edge.reference.digest is not None:
            now = edge.reference.digest
        elif check_external:
            now = probe.digest(edge.reference)
        else:
            continue
        if now is None:
            continue
        recorded = record.parents.get(edge.reference.tagged) if record is not None else None
        if recorded is None and edge.role == "base" and node.reference is not None:
            recorded = probe.base_digest(node.reference, digest)
        if recorded is not None and recorded != now:
            reasons.append(
                Reason(
                    ReasonKind.BASE_MOVED,
                    f"{edge.reference.tagged} is now {now[:19]}, built on {recorded[:19]}",
                )
            )
    return reasons


def input_hash(root: Path, node: ImageNode) -> str:
    """Return a sha256 over what a build reads besides its parents.

    That is the spec or Dockerfile, the build arguments and platform, and for
    Dockerfiles every file of the build context (path, executable bit and
    content; a symbolic link's target) except those ``.dockerignore`` excludes.
    """
    digest = hashlib.sha256()
    digest.update(f"{node.kind}\0{node.source}\0{node.platform or ''}\0".encode())
    for name in sorted(node.build_args):
        digest.update(f"arg\0{name}\0{node.build_args[name]}\0".encode())
    digest.update((root / node.source).read_bytes())
    if node.kind == "dockerfile":
        context = root / node.context
        for relative, token in _context_files(context, _dockerignore(context)):
            digest.update(f"\0{relative}\0".encode())
            digest.update(token)
    return digest.hexdigest()


def _dockerignore(context: Path) -> list[str]:
    try:
        text = (context / ".dockerignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    # NOTE: exception patterns ("!keep") are not applied; such files count as excluded.
    return [
        line.strip().strip("/")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "!"))
    ]


def _ignored(relative: str, patterns: Iterable[str]) -> bool:
    parts = relative.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(fnmatch.fnmatchcase(p, pattern) for pattern in patterns for p in prefixes)


def _context_files(context: Path, patterns: list[str]) -> Iterable[tuple[str, bytes]]:
    entries: list[tuple[str, bytes]] = []
    for folder, subfolders, files in os.walk(context):
        current = Path(folder)
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in _CONTEXT_SKIPPED
            and not _ignored((current / name).relative_to(context).as_posix(), patterns)
        )
        for name in files:
            path = current / name
            relative = path.relative_to(context).as_posix()
            if _ignored(relative, patterns):
                continue
            entries.append((relative, _file_token(path)))
    return sorted(entries)


def _file_token(path: Path) -> bytes:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return b"link\0" + str(path.readlink()).encode()
    if not stat.S_ISREG(info.st_mode):
        return b"special"
    content = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            content.update(block)
    executable = b"x" if info.st_mode & 0o111 else b"-"
    return executable + content.digest()


@dataclass(frozen=True)
class OutdatedReport:
    """The assessments in graph order, with counts."""

    assessments: tuple[Assessment, ...]
    levels: Mapping[str, int] = field(default_factory=dict)

    @property
    def stale(self) -> tuple[Assessment, ...]:
        return tuple(a for a in self.assessments if a.stale)


def outdated_json(report: OutdatedReport) -> dict[str, Any]:
    """Return the ``hardbase outdated --format json`` document."""
    return {
        "stale": [a.name for a in report.stale],
        "images": [
            {
                "name": a.name,
                "stale": a.stale,
                "checked": a.checked,
                "level": report.levels.get(a.name),
                "digest": a.digest,
                "reasons": [{"kind": str(r.kind), "detail": r.detail} for r in a.reasons],
                "warnings": list(a.warnings),
            }
            for a in report.assessments
        ],
    }
