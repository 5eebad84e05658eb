"""Hardening findings for an image: the user it runs as, accounts, modes, tools, secrets, size.

``check_image`` returns the findings; ``audit_image`` returns them with a
summary of what the checks saw. Rule ids, severities and fixes are listed in
``docs/hardening.md`` and in :data:`hardbase.audit.image_checks.rules.RULES`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hardbase.audit.image_checks import footprint, permissions, secrets, tools, users
from hardbase.audit.image_checks.context import ImageContext
from hardbase.audit.image_checks.footprint import LocationSize
from hardbase.image.model import Image
from hardbase.packages import Inventory
from hardbase.scan.findings import Finding, Severity

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HardeningSummary:
    """Overview of an image's hardening checks: counts, tools found, sizes and bytes read."""

    entries: int
    """Filesystem entries walked."""
    user: str | None
    """``User`` of the image configuration as written; None when unset or absent."""
    runs_as_root: bool | None
    """None for a root filesystem without a configuration, or a user name not in /etc/passwd."""
    findings_by_severity: dict[str, int]
    setuid_files: int
    world_writable: int
    """World-writable files, and world-writable folders without the sticky bit."""
    secrets: int
    shells: tuple[str, ...]
    package_managers: tuple[str, ...]
    privilege_tools: tuple[str, ...]
    cache_bytes: int
    documentation_bytes: int
    locations: tuple[LocationSize, ...]
    """Size of each cache and documentation location, including empty ones."""
    files_searched: int
    """Regular files whose first bytes were searched for credentials."""
    bytes_searched: int
    binary_files_skipped: int
    unreadable_files: int
    """Regular files that could not be read for the credential search."""
    read_limit: int
    """Bytes read from the start of each file in the credential search."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "user": self.user,
            "runs_as_root": self.runs_as_root,
            "findings_by_severity": dict(self.findings_by_severity),
            "setuid_files": self.setuid_files,
            "world_writable": self.world_writable,
            "secrets": self.secrets,
            "shells": list(self.shells),
            "package_managers": list(self.package_managers),
            "privilege_tools": list(self.privilege_tools),
            "cache_bytes": self.cache_bytes,
            "documentation_bytes": self.documentation_bytes,
            "locations": [location.to_dict() for location in self.locations],
            "files_searched": self.files_searched,
            "bytes_searched": self.bytes_searched,
            "binary_files_skipped": self.binary_files_skipped,
            "unreadable_files": self.unreadable_files,
            "read_limit": self.read_limit,
        }


@dataclass(frozen=True)
class ImageAudit:
    """The hardening findings of one image and the summary of the checks."""

    findings: tuple[Finding, ...]
    """Most severe first, then by rule id and title."""
    summary: HardeningSummary


def check_image(image: Image, inventory: Inventory) -> list[Finding]:
    """Return the hardening findings of ``image``, most severe first.

    ``inventory`` is the package inventory read from the same image; it names
    the package that owns each reported file. Reading never changes the image.
    """
    return list(audit_image(image, inventory).findings)


def audit_image(
    image: Image, inventory: Inventory, *, read_limit: int = secrets.READ_LIMIT
) -> ImageAudit:
    """Run every hardening check on ``image`` and return the findings with a summary.

    ``read_limit`` is the number of bytes read from the start of each regular
    file in the credential search.
    """
    context = ImageContext.from_parts(image.fs, image.config, inventory)
    run_user = users.resolve_run_user(context)
    found_tools = tools.find_tools(context)
    sizes = footprint.measure_footprint(context)
    secret_scan = secrets.scan_files(context, read_limit)

    setuid = permissions.check_setuid(context)
    writable = permissions.check_world_writable(context)
    config_secrets = secrets.check_env(image.config) + secrets.check_history(image.config)
    findings = [
        *users.check_run_user(context, run_user),
        *users.check_run_account(context, run_user),
        *users.check_passwords(context.accounts),
        *users.check_unique_ids(context.accounts),
        *setuid,
        *writable,
        *tools.check_tools(found_tools),
        *secret_scan.findings,
        *config_secrets,
        *footprint.check_footprint(sizes),
    ]
    findings.sort(key=lambda f: (-f.severity, f.rule_id, f.title))

    counts = Counter(str(f.severity) for f in findings)
    summary = HardeningSummary(
        entries=len(context.entries),
        user=run_user.configured,
        runs_as_root=run_user.is_root,
        findings_by_severity={str(s): counts.get(str(s), 0) for s in reversed(Severity)},
        setuid_files=len(setuid),
        world_writable=len(writable),
        secrets=len(secret_scan.findings) + len(config_secrets),
        shells=tuple(t.path for t in found_tools.shells),
        package_managers=tuple(t.path for t in found_tools.package_managers),
        privilege_tools=tuple(t.path for t in found_tools.privilege_tools),
        cache_bytes=sizes.cache_bytes,
        documentation_bytes=sizes.documentation_bytes,
        locations=sizes.caches + sizes.documentation,
        files_searched=secret_scan.files_read,
        bytes_searched=secret_scan.bytes_read,
        binary_files_skipped=secret_scan.binary_files,
        unreadable_files=secret_scan.unreadable_files,
        read_limit=read_limit,
    )
    logger.info(
        "hardening checks of %s: %d findings, %d files searched for credentials, %d unreadable",
        image.reference,
        len(findings),
        secret_scan.files_read,
        secret_scan.unreadable_files,
    )
    return ImageAudit(tuple(findings), summary)
