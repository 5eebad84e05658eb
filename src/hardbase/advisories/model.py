"""The advisory model: one statement of a source about a package in a release."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class AdvisoryStatus(enum.Enum):
    """A source's verdict for one package in one release."""

    FIXED = "fixed"
    """Fixed in ``fixed_version``; ``0`` there means the release was never affected."""
    OPEN = "open"
    """Affected and no fix published yet."""
    NOT_AFFECTED = "not-affected"
    END_OF_LIFE = "end-of-life"
    """The release is no longer supported for this package."""
    UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Advisory:
    """Statement of one source about one vulnerability in one package of one release."""

    source: str
    """Feed name: ``debian-tracker``, ``debian-dsa``, ``debian-dla``, ``alpine-secdb``, ``osv``."""
    vulnerability_id: str
    """``CVE-…`` where the source names one, else the source's own id."""
    distro: str
    """``debian``, ``ubuntu`` or ``alpine``."""
    release: str
    """Codename (``bookworm``, ``sid``) or Alpine's ``MAJOR.MINOR``."""
    package: str
    """Source package (Debian, Ubuntu) or origin package (Alpine) the record names."""
    status: AdvisoryStatus
    fixed_version: str | None = None
    urgency: str | None = None
    """The distribution's urgency or severity as written (``low``, ``unimportant``, ...)."""
    nodsa: str | None = None
    """Debian's no-DSA note text, when the tracker gives one."""
    nodsa_reason: str | None = None
    """``ignored`` or ``postponed`` as the tracker writes it."""
    record: str = ""
    """Record the statement comes from: ``DSA-5380-1``, ``secdb v3.10/main``, an OSV id."""
    repository: str | None = None
    """Archive or secdb repository that carries the fix (``bookworm-security``, ``main``)."""
    description: str | None = None
    aliases: tuple[str, ...] = ()
    introduced_version: str | None = None
    """First affected version when the source bounds the range below (OSV ``introduced``)."""
