"""Collect the facts of one image for a comparison: open it once, then ask each check.

The image is opened and read once for sizes, packages, the hardening summary,
libc and file checksums. The checks that need only the package inventory
(advisory store, pending updates, release dates, signed index) run after it
is closed, so its work folder does not outlive the reading.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hardbase.advisories.store import AdvisoryStore, default_store_path
from hardbase.audit.image import audit_image
from hardbase.audit.image_checks.rules import SETUID_FILE
from hardbase.compare.libc import detect_libc
from hardbase.compare.model import (
    Comparison,
    ImageFacts,
    IndexProvenance,
    PendingFacts,
    SizeFacts,
    UserFacts,
    VulnerabilityFacts,
)
from hardbase.compare.provenance import ArchiveSettings, check_file_integrity, check_signed_index
from hardbase.compare.rows import build_comparison
from hardbase.compare.support import DISTRO_INFO_DIR, release_support
from hardbase.errors import HardbaseError, InputError
from hardbase.image.compression import sniff
from hardbase.image.layers import DEFAULT_MAX_UNPACKED_BYTES
from hardbase.image.model import Image
from hardbase.image.reader import open_image
from hardbase.image.reference import parse_reference
from hardbase.packages import Inventory, read_inventory
from hardbase.scan.findings import Finding, FindingKind
from hardbase.scan.pending import RULE_SECURITY_UPDATE, check_pending_updates
from hardbase.scan.run import summarize

logger = logging.getLogger(__name__)

NO_STORE = "no advisory store: run hardbase db update"
ALPINE_PENDING = (
    "not applicable: Alpine has no signed point-release archive that hardbase compares; "
    "rebuild from the current alpine tag instead"
)
#: Notes of the matcher that mean no advisory covers the image's release.
_UNCOVERED_NOTES = ("has no records", "no advisory feed covers", "distribution is unknown")

_MAX_LABEL = 64

ProgressHook = Callable[[str], None]


@dataclass(frozen=True)
class CompareOptions:
    """Settings of the image reader and the sources of advisory, archive and release data."""

    platform: str | None = None
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    store: Path | None = None
    """Advisory store; default `hardbase.advisories.store.default_store_path`."""
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    distro_info_dir: Path = DISTRO_INFO_DIR
    pending_updates: bool = True
    signed_index: bool = True


def collect_image(
    reference: str,
    options: CompareOptions,
    label: str | None = None,
    progress: ProgressHook | None = None,
) -> ImageFacts:
    """Open ``reference`` and return everything a comparison shows about it.

    Raises ImageError (an InputError) when the image cannot be read. Archive
    and advisory problems never raise: they become messages in the facts.
    """
    step = progress or (lambda _message: None)
    step(f"reading {reference}")
    with open_image(
        reference, platform=options.platform, max_unpacked_bytes=options.max_unpacked_bytes
    ) as image:
        summary = summarize(image)
        inventory = read_inventory(image.fs)
        step(f"checking hardening of {reference}")
        audit = audit_image(image, inventory)
        libc = detect_libc(image.fs, inventory)
        step(f"comparing installed files of {reference} with their checksums")
        files = check_file_integrity(image.fs, inventory)
        sizes = _sizes(image, reference, summary.unpacked_size)
        title = image.config.labels.get("org.opencontainers.image.title") if image.config else None

    setuid, setgid = _setuid_counts(audit.findings)
    user = UserFacts(
        configured=audit.summary.user,
        runs_as_root=audit.summary.runs_as_root,
        setuid=setuid,
        setgid=setgid,
        shells=audit.summary.shells,
        package_managers=audit.summary.package_managers,
        privilege_tools=audit.summary.privilege_tools,
    )
    step(f"matching advisories for {reference}")
    vulnerabilities = _vulnerabilities(inventory, options)
    step(f"checking the archive for {reference}")
    pending = _pending(inventory, options)
    index = (
        check_signed_index(inventory, options.archive)
        if options.signed_index
        else IndexProvenance(False, "not checked (turned off)")
    )
    distro = inventory.distro
    present = inventory.present
    return ImageFacts(
        label=label or title or default_label(inventory),
        reference=reference,
        distro=(distro.pretty_name or distro.id) if distro else "unknown",
        distro_id=distro.id if distro else None,
        ecosystem=present[0].ecosystem if present else None,
        sizes=sizes,
        packages=tuple(sorted({p.name for p in present})),
        libc=libc,
        user=user,
        vulnerabilities=vulnerabilities,
        pending=pending,
        support=release_support(distro, options.distro_info_dir),
        index=index,
        files=files,
        warnings=inventory.warnings,
    )


def compare_images(
    references: Sequence[str],
    options: CompareOptions,
    *,
    labels: Sequence[str] = (),
    today: dt.date | None = None,
    progress: ProgressHook | None = None,
) -> Comparison:
    """Collect the facts of every image in ``references`` and compare them, in that order.

    ``labels`` names the columns in order; images beyond it are named by
    their ``org.opencontainers.image.title`` label or by os-release. Names
    that repeat get ``-2``, ``-3``... Raises InputError for fewer than two
    references, more labels than images, or an image that cannot be read.
    """
    if len(references) < 2:
        raise InputError(
            f"compare needs at least two images, got {len(references)}",
            hint="give two or more image references",
        )
    if len(labels) > len(references):
        raise InputError(
            f"{len(labels)} labels for {len(references)} images",
            hint="give at most one --label per image, in the order of the images",
        )
    collected = []
    for position, reference in enumerate(references):
        label = labels[position] if position < len(labels) else None
        collected.append(collect_image(reference, options, label, progress))
    return build_comparison(_unique_labels(collected), today)


def clean_label(text: str) -> str:
    """Return ``text`` without control characters, at most 64 characters, or ``image``.

    Labels may come from an image's configuration, so terminal escape
    sequences and line breaks are removed before they reach a report.
    """
    printable = "".join(c for c in text if c.isprintable()).strip()
    return printable[:_MAX_LABEL] or "image"


def _unique_labels(images: list[ImageFacts]) -> list[ImageFacts]:
    seen: Counter[str] = Counter()
    renamed = []
    for facts in images:
        facts = replace(facts, label=clean_label(facts.label))
        seen[facts.label] += 1
        if seen[facts.label] > 1:
            facts = replace(facts, label=f"{facts.label}-{seen[facts.label]}")
        renamed.append(facts)
    return renamed


def default_label(inventory: Inventory) -> str:
    """Return ``ID-VERSION`` from os-release (``alpine-3.20.3``, ``debian-12``), or ``image``."""
    distro = inventory.distro
    if distro is None:
        return "image"
    return f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id


def _sizes(image: Image, reference: str, unpacked: int) -> SizeFacts:
    stored = image.compressed_size
    if image.transport == "tar":
        path = Path(parse_reference(reference).path)
        with path.open("rb") as handle:
            compression = sniff(handle.read(512))
        return SizeFacts(unpacked, stored, compression, len(image.layers), "tarball file")
    if image.transport == "dir":
        return SizeFacts(unpacked, unpacked, None, 0, "folder (not stored as layers)")
    kinds = {_media_compression(layer.media_type) for layer in image.layers}
    compression = "/".join(sorted(k for k in kinds if k)) or None
    return SizeFacts(unpacked, stored, compression, len(image.layers), "layer blobs")


def _media_compression(media_type: str | None) -> str | None:
    if not media_type:
        return None
    for suffix, name in (("gzip", "gzip"), ("zstd", "zstd"), ("xz", "xz")):
        if media_type.endswith(suffix) or media_type.endswith(f"+{suffix}"):
            return name
    return None


def _setuid_counts(findings: tuple[Finding, ...]) -> tuple[int, int]:
    setuid = setgid = 0
    for finding in findings:
        if finding.rule_id != SETUID_FILE.id:
            continue
        setuid += bool(finding.evidence.get("setuid"))
        setgid += bool(finding.evidence.get("setgid"))
    return setuid, setgid


def _vulnerabilities(inventory: Inventory, options: CompareOptions) -> VulnerabilityFacts:
    from hardbase.scan.match import match_vulnerabilities

    path = options.store or default_store_path()
    if not path.is_file():
        return VulnerabilityFacts(False, NO_STORE)
    try:
        with AdvisoryStore.open(path) as store:
            result = match_vulnerabilities(inventory, store)
    except HardbaseError as error:
        logger.warning("advisory store %s not used: %s", path, error)
        return VulnerabilityFacts(False, f"advisory store not usable: {error}")
    message = "; ".join(result.notes)
    # NOTE: coverage is read from the matcher's note wording; a reworded note
    # would make an uncovered release show as zero vulnerabilities.
    if any(marker in note for note in result.notes for marker in _UNCOVERED_NOTES):
        return VulnerabilityFacts(False, message)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for finding in result.findings:
        verdict = str(finding.evidence.get("verdict", "unknown"))
        counts[verdict][str(finding.severity)] += 1
    return VulnerabilityFacts(True, message, {k: dict(v) for k, v in sorted(counts.items())})


def _pending(inventory: Inventory, options: CompareOptions) -> PendingFacts:
    distro = inventory.distro
    if distro is not None and distro.family == "alpine":
        return PendingFacts(False, ALPINE_PENDING)
    if distro is None or distro.family != "debian":
        return PendingFacts(False, "not applicable: only Debian and Ubuntu archives are checked")
    if not options.pending_updates:
        return PendingFacts(False, "not checked (turned off)")
    archive = options.archive
    try:
        result = check_pending_updates(
            inventory,
            mirror=archive.mirror if distro.id == "debian" else None,
            security_mirror=archive.security_mirror if distro.id == "debian" else None,
            keyring=archive.keyring if distro.id == "debian" else None,
            offline=archive.offline,
            cache_dir=archive.cache_dir,
        )
    except HardbaseError as error:
        logger.warning("pending updates not checked: %s", error)
        return PendingFacts(False, f"not checked: {error}")
    verified = [s for s in result.suites if s.verified]
    if not verified:
        return PendingFacts(False, "; ".join(result.warnings) or "no suite could be verified")
    updates = [f for f in result.findings if f.kind is FindingKind.PENDING_UPDATE]
    security = sum(1 for f in updates if f.rule_id == RULE_SECURITY_UPDATE)
    return PendingFacts(
        True,
        "; ".join(result.warnings),
        security=security,
        other=len(updates) - security,
        packages=tuple(sorted(f.package or "" for f in updates)),
    )
